"""Rules of daily operations. Every state change is audited; pages and API call these.

Who may move a task (on top of ``MANAGE_TASKS`` in the task's scope, checked by the caller):
the committee (head, staff) and the owners' committee assign and check; the property company
fixes what is assigned to it, the committee what is assigned to it or to a team (the owners'
committee too for a team: it runs the patrol team), and a team's leader what is assigned to
their team; nobody checks their own fix.
"""

from __future__ import annotations

import contextlib
import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from jiayuan.core.actors import acting_user
from jiayuan.core.audit import audit_record
from jiayuan.core.permissions import Role
from jiayuan.core.scoping import roles
from jiayuan.operations.choices import (
    CASE_ORDER,
    TASK_TRANSITIONS,
    Assignee,
    CaseKind,
    CaseStatus,
    FindingKind,
    TaskStatus,
)
from jiayuan.operations.models import (
    DisinfectionPoint,
    DisinfectionRound,
    Finding,
    GarbageRound,
    OperationsSettings,
    PatrolRun,
    RentalCase,
    Task,
)
from jiayuan.people.choices import Residency
from jiayuan.screening.services import check_photo  # the antigen photos' limits

COORDINATORS = {Role.COMMITTEE_HEAD, Role.COMMITTEE_STAFF, Role.OWNERS_COMMITTEE}
COMMITTEE = {Role.COMMITTEE_HEAD, Role.COMMITTEE_STAFF}
PHOTO_DAYS = 30  # finding photos are kept this long (retention rule ``operations.finding_photos``)
MAX_TEXT = 2000


class TaskError(Exception):
    """A refused status change: ``code`` for programs (409), the message for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# Settings ------------------------------------------------------------------------------------

SETTING_FIELDS = (
    "day_start",
    "day_end",
    "sealed_hours",
    "controlled_hours",
    "precaution_hours",
    "garbage_by",
    "task_hours",
)


def settings_for(neighbourhood_id: int) -> OperationsSettings:
    """The neighbourhood's settings (the defaults, unsaved, when it has none)."""
    found = OperationsSettings.objects.filter(neighbourhood_id=neighbourhood_id).first()
    return found or OperationsSettings(neighbourhood_id=neighbourhood_id)


@transaction.atomic
def settings_update(*, actor, neighbourhood, **values) -> OperationsSettings:
    current = settings_for(neighbourhood.pk)
    before = {f: str(getattr(current, f)) for f in SETTING_FIELDS}
    for field in SETTING_FIELDS:
        if field in values:
            setattr(current, field, values[field])
    if current.day_end <= current.day_start:
        raise ValidationError({"day_end": ["结束时间应晚于开始时间"]})
    for field in ("sealed_hours", "controlled_hours", "precaution_hours", "task_hours"):
        if not 1 <= int(getattr(current, field)) <= 240:
            raise ValidationError({field: ["应在 1 至 240 小时之间"]})
    current.save()
    after = {f: str(getattr(current, f)) for f in SETTING_FIELDS}
    audit_record(
        actor=actor,
        action="operations.settings_update",
        obj=current,
        changes={f: [before[f], after[f]] for f in SETTING_FIELDS if before[f] != after[f]},
    )
    return current


def _text(value: str, field: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({field: ["必填"]})
    if len(value) > limit or "\x00" in value:
        raise ValidationError({field: [f"不能超过 {limit} 个字"]})
    return value


def _same_neighbourhood(neighbourhood_id: int, **objs) -> None:
    for field, obj in objs.items():
        if obj is not None and obj.neighbourhood_id != neighbourhood_id:
            raise ValidationError({field: ["不属于本居民区"]})


# Patrols, findings and tasks -----------------------------------------------------------------


@transaction.atomic
def patrol_start(*, actor, neighbourhood, route: str, members: str = "", team=None, at=None) -> PatrolRun:
    _same_neighbourhood(neighbourhood.pk, team=team)
    run = PatrolRun.objects.create(
        neighbourhood=neighbourhood,
        team=team,
        route=_text(route, "route", required=True, limit=200),
        members=_text(members, "members", limit=200),
        started_at=at or timezone.now(),
        created_by=acting_user(actor),
    )
    audit_record(actor=actor, action="operations.patrol_start", obj=run, changes={"team": run.team_id})
    return run


@transaction.atomic
def patrol_end(*, actor, run: PatrolRun, at=None) -> PatrolRun:
    if run.ended_at is not None:
        raise ValidationError("这次巡查已结束")
    at = at or timezone.now()
    if at < run.started_at:
        raise ValidationError({"ended_at": ["结束时间不能早于开始时间"]})
    run.ended_at = at
    run.save(update_fields=["ended_at"])
    audit_record(actor=actor, action="operations.patrol_end", obj=run)
    return run


@transaction.atomic
def finding_report(
    *,
    actor,
    neighbourhood,
    kind: str,
    place: str,
    note: str = "",
    building=None,
    run: PatrolRun | None = None,
    photo=None,
) -> Task:
    """Log what a patrol saw; it becomes an open follow-up task due within the settings' hours."""
    if kind not in FindingKind.values:
        raise ValidationError({"kind": ["不是可选值之一: " + ", ".join(FindingKind.values)]})
    _same_neighbourhood(neighbourhood.pk, building=building, run=run)
    check_photo(photo)
    place = _text(place, "place", limit=200) or (building.name if building else "")
    if not place:
        raise ValidationError({"place": ["请填写地点"]})
    now = timezone.now()
    finding = Finding(
        neighbourhood=neighbourhood,
        run=run,
        kind=kind,
        building=building,
        place=place,
        note=_text(note, "note"),
        reported_by=acting_user(actor),
        created_at=now,
    )
    if photo is not None:
        finding.photo.save(f"f{neighbourhood.pk}-{now:%Y%m%d%H%M%S}-{photo.name[-20:]}", photo, save=False)
    try:
        finding.save()
        hours = settings_for(neighbourhood.pk).task_hours
        task = Task.objects.create(
            neighbourhood=neighbourhood,
            finding=finding,
            building=building,
            title=f"{finding.get_kind_display()} · {place}"[:200],
            due_at=now + dt.timedelta(hours=hours),
            created_at=now,
        )
        audit_record(
            actor=actor,
            action="operations.finding_report",
            obj=finding,
            changes={"kind": kind, "task": task.pk, "photo": bool(finding.photo)},
        )
    except Exception:
        # Rolled back: the file just written must not stay behind, unreferenced.
        if finding.photo:
            with contextlib.suppress(OSError):
                finding.photo.storage.delete(finding.photo.name)
        raise
    return task


def _may(actor, allowed: set) -> bool:
    return bool(getattr(actor, "is_superuser", False) or roles(actor) & allowed)


def _may_fix(actor, task: Task) -> bool:
    if _may(actor, _fixers(task)):
        return True
    if task.assignee == Assignee.TEAM:
        from jiayuan.volunteers.selectors import led_team_ids

        return task.team_id in led_team_ids(actor)
    return False


def _fixers(task: Task) -> set:
    if task.assignee == Assignee.PROPERTY:
        return {Role.PROPERTY_STAFF, *COMMITTEE}
    if task.assignee == Assignee.TEAM:
        return set(COORDINATORS)
    return set(COMMITTEE)


@transaction.atomic
def task_set_status(
    *, actor, task: Task, status: str, note: str = "", assignee: str = "", team=None, due_at=None
) -> Task:
    """Move a task on; refusals are ``TaskError`` (wrong step, not this party's task, own fix)."""
    if status not in TaskStatus.values:
        raise ValidationError({"status": ["不是可选值之一: " + ", ".join(TaskStatus.values)]})
    note = _text(note, "note")
    task = Task.objects.select_for_update().get(pk=task.pk)
    before = task.status
    if status not in TASK_TRANSITIONS[before]:
        raise TaskError(
            "invalid_transition",
            f"任务当前为「{task.get_status_display()}」,不能改为「{TaskStatus(status).label}」",
        )
    now = timezone.now()
    if status == TaskStatus.ASSIGNED:
        if not _may(actor, COORDINATORS):
            raise TaskError("not_allowed", "只有居委会或业委会可以分派或退回任务")
        if before == TaskStatus.FIXED and not note:
            raise ValidationError({"note": ["退回整改请写明原因"]})
        assignee = assignee or task.assignee or Assignee.PROPERTY
        if assignee not in Assignee.values:
            raise ValidationError({"assignee": ["不是可选值之一: " + ", ".join(Assignee.values)]})
        if assignee == Assignee.TEAM:
            if team is None:
                raise ValidationError({"team": ["请选择队伍"]})
            _same_neighbourhood(task.neighbourhood_id, team=team)
        else:
            team = None
        if before == TaskStatus.FIXED:
            task.returned += 1
            task.fixed_at = None
            task.fixed_by = None
        task.assignee, task.team, task.assigned_at = assignee, team, now
        if due_at is not None:
            task.due_at = due_at
        elif before == TaskStatus.FIXED:
            task.due_at = now + dt.timedelta(hours=settings_for(task.neighbourhood_id).task_hours)
    elif status == TaskStatus.FIXED:
        if not _may_fix(actor, task):
            raise TaskError("not_allowed", f"这项任务由「{task.assignee_label}」整改")
        task.fixed_at, task.fixed_by = now, actor
    elif status == TaskStatus.CHECKED:
        if not _may(actor, COORDINATORS):
            raise TaskError("not_allowed", "只有居委会或业委会可以验收")
        if task.fixed_by_id and task.fixed_by_id == getattr(actor, "pk", None):
            raise TaskError("same_person", "不能验收自己完成的整改")
        task.checked_at, task.checked_by = now, actor
    task.status = status
    if note:
        task.note = note
    task.save()
    action = {
        TaskStatus.ASSIGNED: "operations.task_assign",
        TaskStatus.FIXED: "operations.task_fix",
        TaskStatus.CHECKED: "operations.task_check",
    }[status]
    if before == TaskStatus.FIXED and status == TaskStatus.ASSIGNED:
        action = "operations.task_returned"
    audit_record(
        actor=actor,
        action=action,
        obj=task,
        changes={"status": [before, status], "assignee": task.assignee, "team": task.team_id, "note": note},
    )
    return task


def finding_photo_open(*, actor, finding: Finding):
    """The photo of a finding for someone who may see it; the read is audited."""
    import mimetypes

    if not finding.photo:
        raise FileNotFoundError
    handle = finding.photo.open("rb")
    audit_record(actor=actor, action="operations.finding_photo_view", obj=finding)
    return handle, mimetypes.guess_type(finding.photo.name)[0] or "application/octet-stream"


def finding_photos_purge(now: dt.datetime, dry_run: bool, progress=None) -> int:
    """Retention rule: photos of findings older than ``PHOTO_DAYS`` days go (file and pointer)."""
    cutoff = now - dt.timedelta(days=PHOTO_DAYS)
    qs = Finding.objects.filter(created_at__lt=cutoff).exclude(photo="")
    if dry_run:
        return qs.count()
    removed = 0
    last = 0
    storage = Finding._meta.get_field("photo").storage
    while batch := list(qs.filter(pk__gt=last).order_by("pk").values_list("pk", "photo")[:500]):
        last = batch[-1][0]
        with transaction.atomic():
            gone = [name for pk, name in batch if Finding.objects.filter(pk=pk, photo=name).update(photo="")]

            def delete(names=gone) -> None:
                for name in names:
                    with contextlib.suppress(OSError):
                        storage.delete(name)

            transaction.on_commit(delete)
        removed += len(gone)
        if progress is not None:
            progress(len(gone))
    return removed


# Disinfection and garbage --------------------------------------------------------------------


@transaction.atomic
def point_create(*, actor, compound, kind: str, name: str, building=None) -> DisinfectionPoint:
    if building is not None and building.compound_id != compound.pk:
        raise ValidationError({"building": ["该楼栋不在此小区"]})
    point = DisinfectionPoint(
        neighbourhood_id=compound.neighbourhood_id,
        compound=compound,
        building=building,
        kind=kind,
        name=_text(name, "name", required=True, limit=100),
    )
    point.full_clean()
    point.save()
    audit_record(actor=actor, action="operations.point_create", obj=point)
    return point


@transaction.atomic
def point_set_active(*, actor, point: DisinfectionPoint, active: bool) -> DisinfectionPoint:
    point.active = active
    point.save(update_fields=["active"])
    audit_record(actor=actor, action="operations.point_update", obj=point, changes={"active": active})
    return point


@transaction.atomic
def disinfection_log(
    *, actor, point: DisinfectionPoint, at=None, worker: str = "", agent: str = ""
) -> DisinfectionRound:
    now = timezone.now()
    at = at or now
    if at > now + dt.timedelta(minutes=5):
        raise ValidationError({"done_at": ["消杀时间不能晚于现在"]})
    if not point.active:
        raise ValidationError({"point": ["该点位已停用"]})
    row = DisinfectionRound.objects.create(
        neighbourhood_id=point.neighbourhood_id,
        point=point,
        done_at=at,
        done_by=acting_user(actor),
        worker=_text(worker, "worker", limit=64),
        agent=_text(agent, "agent", limit=100),
    )
    audit_record(actor=actor, action="operations.disinfection_log", obj=row, changes={"point": point.pk})
    return row


@transaction.atomic
def garbage_log(
    *, actor, building, day: dt.date | None = None, bags=None, worker: str = "", note: str = ""
) -> GarbageRound:
    """Log a building's garbage round for ``day``; the way (bin point or door to door) and the
    households collected at the door or separately come from the building's plan of the day."""
    from jiayuan.operations import selectors

    day = day or timezone.localdate()
    if day > timezone.localdate():
        raise ValidationError({"day": ["不能登记以后的日期"]})
    plan = selectors.garbage_plan([building])[building.pk]
    try:
        with transaction.atomic():
            row = GarbageRound.objects.create(
                neighbourhood_id=building.neighbourhood_id,
                building=building,
                day=day,
                mode=plan["mode"],
                door_households=plan["door"],
                separate_households=plan["separate"],
                bags=bags,
                done_by=acting_user(actor),
                worker=_text(worker, "worker", limit=64),
                note=_text(note, "note", limit=200),
            )
    except IntegrityError as exc:
        raise ValidationError({"building": ["该楼栋这一天的垃圾清运已登记"]}) from exc
    audit_record(
        actor=actor,
        action="operations.garbage_log",
        obj=row,
        changes={"mode": row.mode, "door": row.door_households, "separate": row.separate_households},
    )
    return row


# Hazard and group-rental cases ---------------------------------------------------------------


@transaction.atomic
def case_report(
    *, actor, household, kind: str = CaseKind.GROUP_RENTAL, reported_by: str = "", description: str = ""
) -> RentalCase:
    if kind not in CaseKind.values:
        raise ValidationError({"kind": ["不是可选值之一"]})
    case = RentalCase.objects.create(
        neighbourhood_id=household.neighbourhood_id,
        household=household,
        building_id=household.building_id,
        kind=kind,
        reported_by=_text(reported_by, "reported_by", limit=100),
        description=_text(description, "description"),
        created_by=acting_user(actor),
    )
    audit_record(actor=actor, action="operations.case_report", obj=case, changes={"kind": kind})
    return case


CASE_FIELDS = {
    CaseStatus.INSPECTED: ("beds", "occupants"),
    CaseStatus.ACTION: ("action_note",),
    CaseStatus.RECTIFIED: ("beds_removed", "moved_out"),
    CaseStatus.CLOSED: (),
}


@transaction.atomic
def case_advance(*, actor, case: RentalCase, status: str, **values) -> RentalCase:
    """Move a case one step on (reported → inspected → action → rectified → closed); a hazard
    may skip joint enforcement (inspected → rectified)."""
    case = RentalCase.objects.select_for_update().get(pk=case.pk)
    if status not in CASE_FIELDS:
        raise ValidationError({"status": ["不是可选值之一"]})
    current = CASE_ORDER.index(case.status)
    target = CASE_ORDER.index(status)
    skip_ok = case.kind == CaseKind.HAZARD and case.status == CaseStatus.INSPECTED and status == CaseStatus.RECTIFIED
    if target != current + 1 and not skip_ok:
        raise ValidationError(
            {"status": [f"案件当前为「{case.get_status_display()}」,不能改为「{CaseStatus(status).label}」"]}
        )
    changes = {"status": [case.status, status]}
    for field in CASE_FIELDS[status]:
        value = values.get(field)
        if field == "action_note":
            value = _text(value or "", field, required=True)
        elif value is None:
            if field in ("beds", "occupants"):
                raise ValidationError({field: ["必填"]})
            value = 0
        elif not 0 <= int(value) <= 500:
            raise ValidationError({field: ["数值不合理"]})
        setattr(case, field, value)
        changes[field] = value
    if status == CaseStatus.RECTIFIED and case.beds is not None and case.beds_removed > case.beds:
        raise ValidationError({"beds_removed": ["拆除床位不能多于核查时的床位数"]})
    case.status = status
    case.save()
    audit_record(actor=actor, action="operations.case_update", obj=case, changes=changes)
    return case


@transaction.atomic
def case_register_occupant(*, actor, case: RentalCase, name: str, id_number: str = "", phone: str = ""):
    """An occupant who stays is registered as a resident (tenant) of the household through the
    people app's service (its checks, encryption and audit)."""
    from jiayuan.people import services as people_services

    if case.status == CaseStatus.CLOSED:
        raise ValidationError("案件已结案")
    resident = people_services.resident_create(
        actor=actor,
        neighbourhood_id=case.neighbourhood_id,
        household=case.household,
        name=name,
        id_number=id_number,
        phone=phone,
        residency=Residency.TENANT,
    )
    RentalCase.objects.filter(pk=case.pk).update(registered=case.registered + 1)
    case.registered += 1
    audit_record(actor=actor, action="operations.case_register", obj=case, changes={"resident": resident.pk})
    return resident
