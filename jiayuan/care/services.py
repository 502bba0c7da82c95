"""Care rules: priority, time limits, the request lifecycle, assignment, errands and their runs,
medical trips, visits, the psychological support group, suggestions and their replies.

Every state change is audited (``audit_record``) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from jiayuan.accounts.models import Assignment, User
from jiayuan.care import grouping
from jiayuan.care.choices import (
    OPEN_STATUSES,
    PRIORITY_TAGS,
    TRANSITIONS,
    VISIT_TAGS,
    Category,
    EmergencyOutcome,
    GroupRole,
    HandedOver,
    Priority,
    RunStatus,
    Source,
    Status,
    TreatmentKind,
    Urgency,
    VisitFinding,
    VisitMode,
)
from jiayuan.care.models import (
    CareRequest,
    CareSettings,
    EmergencyCall,
    ErrandItem,
    ErrandRun,
    RequestEvent,
    Suggestion,
    SuggestionGroup,
    SupportGroup,
    SupportMember,
    TreatmentSchedule,
    Visit,
    VisitPlan,
)
from jiayuan.control.choices import ZoneLevel
from jiayuan.control.selectors import zone_levels
from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record
from jiayuan.core.permissions import Action, Role
from jiayuan.core.scoping import can
from jiayuan.people.models import Resident, ResidentTag
from jiayuan.places.models import Household

MAX_TEXT = 2000
_RANK = [Priority.LOW, Priority.NORMAL, Priority.HIGH]
_BASE = {Urgency.EMERGENCY: Priority.HIGH, Urgency.TODAY: Priority.NORMAL, Urgency.ROUTINE: Priority.LOW}


def settings_for(neighbourhood_id: int) -> CareSettings:
    obj, _created = CareSettings.objects.get_or_create(neighbourhood_id=neighbourhood_id)
    return obj


def _actor_label(actor) -> str:
    """Who did a step, as the request's history shows it: a person's name, or 住户 for the household."""
    if getattr(actor, "is_authenticated", False):
        return str(actor)
    if str(actor or "").startswith("household-link:"):
        return str(_("住户"))
    return str(actor or "")


def clean_key(key: str | None) -> str:
    key = (key or "").strip()
    if len(key) > 200 or any(not ch.isprintable() for ch in key):
        raise ValidationError({"idempotency_key": [_("幂等键只能是200个字符以内的可打印字符")]})
    return key


def _clean_text(value: str, field: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    value = (value or "").replace("\x00", "").strip()
    if required and not value:
        raise ValidationError({field: [_("请填写内容")]})
    if len(value) > limit:
        raise ValidationError({field: [_("内容过长(最多 %(n)s 字)") % {"n": limit}]})
    return value


# Priority and time limits -------------------------------------------------------------------


def priority_for(*, urgency: str, resident: Resident | None, household: Household) -> tuple[str, list[str]]:
    """The priority of a request and why: emergencies are high; a resident tagged dialysis/chemo,
    pregnant, bedridden, elderly alone or without family raises it one step, and so does a
    sealed building (both: two steps)."""
    rank = _RANK.index(_BASE[urgency])
    reasons: list[str] = []
    if resident is not None:
        tags = set(ResidentTag.objects.filter(resident=resident, tag__in=PRIORITY_TAGS).values_list("tag", flat=True))
        if tags:
            rank += 1
            reasons += sorted(tags)
    if zone_levels(building_ids=[household.building_id]).get(household.building_id) == ZoneLevel.SEALED:
        rank += 1
        reasons.append("sealed")
    return _RANK[min(rank, 2)], reasons


def deadlines(neighbourhood_id: int, urgency: str, start) -> tuple[dt.datetime, dt.datetime]:
    s = settings_for(neighbourhood_id)
    return (
        start + dt.timedelta(minutes=s.accept_minutes(urgency)),
        start + dt.timedelta(hours=s.done_hours(urgency)),
    )


# Requests ---------------------------------------------------------------------------------------


def _event(req: CareRequest, actor, status: str, note: str = "", at=None) -> RequestEvent:
    return RequestEvent.objects.create(
        request=req,
        status=status,
        note=note,
        actor=_user(actor),
        actor_label=_actor_label(actor)[:150],
        at=at or timezone.now(),
    )


@transaction.atomic
def request_create(
    *,
    actor,
    household: Household,
    category: str,
    urgency: str,
    description: str = "",
    resident: Resident | None = None,
    source: str = Source.STAFF,
    idempotency_key: str = "",
    items: list[dict] | None = None,
) -> tuple[CareRequest, bool]:
    """Register a request; ``(request, created)`` (a retried key answers the first request)."""
    if category not in Category.values:
        raise ValidationError({"category": [_("请选择类别")]})
    if urgency not in Urgency.values:
        raise ValidationError({"urgency": [_("请选择紧急程度")]})
    if resident is not None and resident.household_id != household.pk:
        raise ValidationError({"resident": [_("该居民不属于此住户")]})
    description = _clean_text(description, "description", required=not items)
    key = clean_key(idempotency_key)
    if key:
        existing = CareRequest.objects.filter(household=household, idempotency_key=key).first()
        if existing is not None:
            return existing, False
    priority, reasons = priority_for(urgency=urgency, resident=resident, household=household)
    now = timezone.now()
    due, done_due = deadlines(household.neighbourhood_id, urgency, now)
    req = CareRequest(
        neighbourhood_id=household.neighbourhood_id,
        building_id=household.building_id,
        household=household,
        resident=resident,
        category=category,
        urgency=urgency,
        priority=priority,
        priority_reasons=reasons,
        description=description,
        source=source,
        created_by=_user(actor),
        created_at=now,
        due_at=due,
        done_due_at=done_due,
        idempotency_key=key,
    )
    try:
        with transaction.atomic():
            req.save(force_insert=True)
    except IntegrityError:
        existing = CareRequest.objects.filter(household=household, idempotency_key=key).first()
        if existing is None:
            raise
        return existing, False
    for item in items or ():
        errand_item_add(actor=actor, request=req, **item, audit=False)
    _event(req, actor, Status.NEW, at=now)
    audit_record(
        actor=actor,
        action="care.request_create",
        obj=req,
        changes={"category": category, "urgency": urgency, "priority": priority, "source": source},
    )
    return req, True


_STAMP = {
    Status.ACCEPTED: "accepted_at",
    Status.IN_PROGRESS: "started_at",
    Status.DONE: "done_at",
    Status.CONFIRMED: "confirmed_at",
    Status.REOPENED: "reopened_at",
    Status.CANCELLED: "closed_at",
}
# The household itself may only confirm or reopen what was done.
HOUSEHOLD_STEPS = (Status.CONFIRMED, Status.REOPENED)


class TransitionError(ValidationError):
    """A step the lifecycle does not allow from the request's status (HTTP 409 ``bad_transition``)."""


@transaction.atomic
def request_transition(
    *, actor, request: CareRequest, status: str, note: str = "", by_household: bool = False
) -> CareRequest:
    """Move a request one step: new → accepted → in progress → done → confirmed (or reopened)."""
    if status not in Status.values:
        raise ValidationError({"status": [_("不是可选的状态")]})
    note = _clean_text(note, "note", required=status == Status.REOPENED and by_household, limit=500)
    req = CareRequest.objects.select_for_update().get(pk=request.pk)
    if by_household and status not in HOUSEHOLD_STEPS:
        raise TransitionError(_("住户只能确认或重新打开已办结的诉求"))
    if status not in TRANSITIONS[req.status]:
        raise TransitionError(
            _("“%(from)s”的诉求不能改为“%(to)s”") % {"from": req.get_status_display(), "to": Status(status).label}
        )
    now = timezone.now()
    previous = req.status
    req.status = status
    setattr(req, _STAMP[status], now)
    fields = ["status", _STAMP[status]]
    if status == Status.ACCEPTED and req.assignee_id is None and _user(actor) is not None:
        req.assignee = actor
        fields.append("assignee")
    if status == Status.REOPENED:
        # A reopened request is due again, from now.
        req.due_at, req.done_due_at = deadlines(req.neighbourhood_id, req.urgency, now)
        req.done_at = None
        fields += ["due_at", "done_due_at", "done_at"]
    req.save(update_fields=fields)
    _event(req, actor, status, note, at=now)
    action = {
        Status.ACCEPTED: "care.request_accept",
        Status.IN_PROGRESS: "care.request_start",
        Status.DONE: "care.request_done",
        Status.CONFIRMED: "care.request_confirm",
        Status.REOPENED: "care.request_reopen",
        Status.CANCELLED: "care.request_cancel",
    }[status]
    audit_record(actor=actor, action=action, obj=req, changes={"from": previous, "to": status, "note": note})
    request.__dict__.update(req.__dict__)
    return req


@transaction.atomic
def request_assign(*, actor, request: CareRequest, user: User | None = None, team=None) -> CareRequest:
    """Give a request to a person (who must be able to handle it there) or to a team."""
    if (user is None) == (team is None):
        raise ValidationError({"user": [_("请指定一位负责人或一个队伍")]})
    req = CareRequest.objects.select_for_update().get(pk=request.pk)
    if req.status not in OPEN_STATUSES:
        raise TransitionError(_("已办结或已撤销的诉求不能再分派"))
    if user is not None:
        if req.is_psychological and not may_read_content(user, req):
            raise ValidationError({"user": [_("心理支持诉求只能分派给心理支持小组成员")]})
        if not user.is_active or not may_handle(user, req):
            raise ValidationError({"user": [_("此人不能办理这条诉求(不在其负责范围)")]})
        req.assignee = user
        fields = ["assignee"]
        target = str(user)
    else:
        if getattr(team, "neighbourhood_id", req.neighbourhood_id) != req.neighbourhood_id:
            raise ValidationError({"team": [_("队伍不属于本居民区")]})
        req.team = team
        fields = ["team"]
        target = str(team)
    req.save(update_fields=fields)
    _event(req, actor, req.status, _("分派给 %(who)s") % {"who": target})
    audit_record(actor=actor, action="care.request_assign", obj=req, changes={"to": target})
    request.__dict__.update(req.__dict__)
    return req


# Psychological support -------------------------------------------------------------------------


def support_members(neighbourhood_id: int) -> set[int]:
    return set(SupportMember.objects.filter(group__neighbourhood_id=neighbourhood_id).values_list("user_id", flat=True))


def is_committee_head_of(user, neighbourhood_id: int) -> bool:
    from jiayuan.places.models import Neighbourhood

    street_id = Neighbourhood.objects.filter(pk=neighbourhood_id).values_list("street_id", flat=True).first()
    return Assignment.objects.filter(
        Q(level="neighbourhood", neighbourhood_id=neighbourhood_id) | Q(level="street", street_id=street_id),
        user=user,
        role=Role.COMMITTEE_HEAD,
        active=True,
    ).exists()


def may_read_content(user, request: CareRequest) -> bool:
    """Whether ``user`` may read what a request says: anyone who sees it, except for
    psychological support, which only the support group and the committee head read."""
    if not request.is_psychological:
        return True
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    cache = user.__dict__.setdefault("_care_confidential", {})
    if request.neighbourhood_id not in cache:
        cache[request.neighbourhood_id] = bool(
            user.is_superuser
            or user.pk in support_members(request.neighbourhood_id)
            or is_committee_head_of(user, request.neighbourhood_id)
        )
    return cache[request.neighbourhood_id]


def may_handle(user, request: CareRequest) -> bool:
    """Whether ``user`` may handle ``request``: through their scope, except psychological support,
    which the support group (wherever its members work) and the committee head handle."""
    if request.is_psychological:
        return may_read_content(user, request)
    return can(user, Action.HANDLE_REQUESTS, request)


@transaction.atomic
def support_member_add(*, actor, neighbourhood_id: int, user: User, role: str) -> SupportMember:
    if role not in GroupRole.values:
        raise ValidationError({"role": [_("请选择身份")]})
    group, _c = SupportGroup.objects.get_or_create(neighbourhood_id=neighbourhood_id)
    member, _c = SupportMember.objects.update_or_create(group=group, user=user, defaults={"role": role})
    audit_record(
        actor=actor,
        action="care.support_member_add",
        obj=group,
        object_repr=f"{group} · {user}",
        neighbourhood_id=neighbourhood_id,
        changes={"role": role},
    )
    return member


@transaction.atomic
def support_member_remove(*, actor, member: SupportMember) -> None:
    group = member.group
    audit_record(
        actor=actor,
        action="care.support_member_remove",
        obj=group,
        object_repr=f"{group} · {member.user}",
        neighbourhood_id=group.neighbourhood_id,
    )
    member.delete()


# Medicine errands ------------------------------------------------------------------------------


def errand_item_add(
    *,
    actor,
    request: CareRequest,
    name: str,
    quantity: str,
    hospital: str,
    handed_over: str = HandedOver.NONE,
    audit=True,
) -> ErrandItem:
    if request.category != Category.MEDICINE:
        raise ValidationError({"name": [_("只有代配药诉求可以添加药品")]})
    if handed_over not in HandedOver.values:
        raise ValidationError({"handed_over": [_("请选择交给跑腿人的凭证")]})
    item = ErrandItem.objects.create(
        request=request,
        name=_clean_text(name, "name", limit=100),
        quantity=_clean_text(quantity, "quantity", limit=40),
        hospital=_clean_text(hospital, "hospital", limit=100),
        handed_over=handed_over,
    )
    if audit:
        audit_record(actor=actor, action="care.errand_item_add", obj=request, changes={"medicine": item.name})
    return item


@transaction.atomic
def errand_cost(*, actor, request: CareRequest, cost: Decimal | None, paid: bool) -> CareRequest:
    if cost is not None and (cost < 0 or cost > Decimal("1000000")):
        raise ValidationError({"cost": [_("费用不正确")]})
    request.cost, request.paid = cost, paid
    request.save(update_fields=["cost", "paid"])
    audit_record(actor=actor, action="care.errand_cost", obj=request, changes={"cost": str(cost), "paid": paid})
    return request


def errand_batches(requests) -> dict[str, list[CareRequest]]:
    """Open medicine errands not yet in a run, by hospital (the hospital of their first medicine)."""
    batches: dict[str, list[CareRequest]] = {}
    for req in requests:
        items = list(req.errand_items.all())
        if items:
            batches.setdefault(items[0].hospital, []).append(req)
    return dict(sorted(batches.items(), key=lambda kv: (-len(kv[1]), kv[0])))


@transaction.atomic
def errand_run_create(
    *, actor, neighbourhood_id: int, hospital: str, volunteer: User, requests: list[CareRequest]
) -> ErrandRun:
    """One run to ``hospital`` for ``volunteer`` with these errands: each is assigned and accepted."""
    if not requests:
        raise ValidationError({"hospital": [_("这家医院/药店没有待跑腿的配药诉求")]})
    run = ErrandRun.objects.create(
        neighbourhood_id=neighbourhood_id, hospital=hospital, volunteer=volunteer, created_by=_user(actor)
    )
    for req in requests:
        locked = CareRequest.objects.select_for_update().get(pk=req.pk)
        if locked.errand_run_id is not None or locked.status not in OPEN_STATUSES:
            raise ValidationError({"hospital": [_("有诉求已在其他批次或已办结, 请刷新后重试")]})
        if not can(volunteer, Action.HANDLE_REQUESTS, locked):
            raise ValidationError({"volunteer": [_("此人不能办理这些诉求(不在其负责范围)")]})
        locked.errand_run = run
        locked.assignee = volunteer
        locked.save(update_fields=["errand_run", "assignee"])
        _event(locked, actor, locked.status, _("并入 %(h)s 跑腿批次, 由 %(v)s 取药") % {"h": hospital, "v": volunteer})
        if locked.status in (Status.NEW, Status.REOPENED):
            request_transition(actor=actor, request=locked, status=Status.ACCEPTED)
    audit_record(
        actor=actor,
        action="care.errand_run_create",
        obj=run,
        object_repr=f"#{run.pk} {hospital}",
        changes={"requests": [r.pk for r in requests], "volunteer": str(volunteer)},
    )
    return run


# Medical trips ---------------------------------------------------------------------------------


@transaction.atomic
def schedule_create(
    *,
    actor,
    resident: Resident,
    kind: str,
    hospital: str,
    weekdays: list[int],
    time: dt.time,
    transport: str = "",
    escort: User | None = None,
    pass_note: str = "",
) -> TreatmentSchedule:
    if resident.household_id is None:
        raise ValidationError({"resident": [_("该居民没有登记住户")]})
    if kind not in TreatmentKind.values:
        raise ValidationError({"kind": [_("请选择治疗类型")]})
    days = sorted({int(d) for d in weekdays})
    if not days or any(d < 1 or d > 7 for d in days):
        raise ValidationError({"weekdays": [_("请选择每周哪几天")]})
    schedule = TreatmentSchedule.objects.create(
        neighbourhood_id=resident.neighbourhood_id,
        building_id=resident.household.building_id,
        resident=resident,
        kind=kind,
        hospital=_clean_text(hospital, "hospital", limit=100),
        weekdays=days,
        time=time,
        transport=_clean_text(transport, "transport", required=False, limit=100),
        escort=escort,
        pass_note=_clean_text(pass_note, "pass_note", required=False, limit=200),
    )
    audit_record(actor=actor, action="care.schedule_create", obj=schedule, changes={"weekdays": days, "kind": kind})
    return schedule


def trips_on(schedules, day: dt.date) -> list[TreatmentSchedule]:
    return [s for s in schedules if s.active and day.isoweekday() in s.weekdays]


@transaction.atomic
def emergency_log(*, actor, resident: Resident, reason: str, hospital: str = "", called_at=None) -> EmergencyCall:
    if resident.household_id is None:
        raise ValidationError({"resident": [_("该居民没有登记住户")]})
    call = EmergencyCall.objects.create(
        neighbourhood_id=resident.neighbourhood_id,
        building_id=resident.household.building_id,
        resident=resident,
        reason=_clean_text(reason, "reason", limit=200),
        hospital=_clean_text(hospital, "hospital", required=False, limit=100),
        called_at=called_at or timezone.now(),
        logged_by=_user(actor),
    )
    audit_record(actor=actor, action="care.emergency_log", obj=call)
    return call


@transaction.atomic
def emergency_outcome(*, actor, call: EmergencyCall, outcome: str, note: str = "", hospital: str = "") -> EmergencyCall:
    if outcome not in EmergencyOutcome.values:
        raise ValidationError({"outcome": [_("请选择结果")]})
    call.outcome = outcome
    call.outcome_note = _clean_text(note, "outcome_note", required=False, limit=200)
    if hospital:
        call.hospital = _clean_text(hospital, "hospital", limit=100)
    call.save(update_fields=["outcome", "outcome_note", "hospital"])
    audit_record(actor=actor, action="care.emergency_outcome", obj=call, changes={"outcome": outcome})
    return call


# Visits ----------------------------------------------------------------------------------------


@transaction.atomic
def visit_plans_sync(*, actor, neighbourhood_id: int) -> int:
    """A visit plan for every present resident tagged for visits who has none yet (frequency from
    the settings: the most frequent of their tags); plans of residents no longer tagged end."""
    s = settings_for(neighbourhood_id)
    days = {tag: min(30, max(1, int(s.visit_days.get(tag) or 1))) for tag in VISIT_TAGS if s.visit_days.get(tag)}
    tagged: dict[int, tuple[str, int]] = {}
    rows = ResidentTag.objects.filter(
        tag__in=list(days), resident__neighbourhood_id=neighbourhood_id, resident__household__isnull=False
    ).values_list("resident_id", "tag", "resident__household__building_id")
    building_of: dict[int, int] = {}
    for rid, tag, bid in rows:
        building_of[rid] = bid
        if rid not in tagged or days[tag] < tagged[rid][1]:
            tagged[rid] = (tag, days[tag])
    existing = {p.resident_id: p for p in VisitPlan.objects.filter(neighbourhood_id=neighbourhood_id)}
    new = [
        VisitPlan(
            neighbourhood_id=neighbourhood_id,
            building_id=building_of[rid],
            resident_id=rid,
            tag=tag,
            every_days=every,
            mode=VisitMode.DOOR if tag == "bedridden" else VisitMode.PHONE,
        )
        for rid, (tag, every) in tagged.items()
        if rid not in existing
    ]
    VisitPlan.objects.bulk_create(new)
    ended = [p.pk for rid, p in existing.items() if rid not in tagged and p.active]
    VisitPlan.objects.filter(pk__in=ended).update(active=False)
    changed = [p for rid, p in existing.items() if rid in tagged and (p.tag, p.every_days) != tagged[rid]]
    for p in changed:
        p.tag, p.every_days = tagged[p.resident_id]
        p.active = True
    VisitPlan.objects.bulk_update(changed, ["tag", "every_days", "active"])
    if new or ended or changed:
        audit_record(
            actor=actor,
            action="care.visit_plans_sync",
            object_type="care.visitplan",
            object_repr=_("走访计划"),
            neighbourhood_id=neighbourhood_id,
            changes={"created": len(new), "ended": len(ended), "changed": len(changed)},
        )
    return len(new)


@transaction.atomic
def visit_plan_update(*, actor, plan: VisitPlan, visitor: User | None, every_days: int, mode: str) -> VisitPlan:
    if not 1 <= int(every_days) <= 30:
        raise ValidationError({"every_days": [_("每 1 至 30 天一次")]})
    if mode not in VisitMode.values:
        raise ValidationError({"mode": [_("请选择方式")]})
    if visitor is not None and not can(visitor, Action.VIEW_REQUESTS, plan):
        raise ValidationError({"visitor": [_("此人不负责这位居民所在的楼栋")]})
    plan.visitor, plan.every_days, plan.mode = visitor, int(every_days), mode
    plan.save(update_fields=["visitor", "every_days", "mode"])
    audit_record(
        actor=actor,
        action="care.visit_plan_update",
        obj=plan,
        changes={"visitor": str(visitor or ""), "every_days": plan.every_days, "mode": mode},
    )
    return plan


# A visit finding that needs help becomes a request of this category in one tap.
FINDING_REQUEST = {
    VisitFinding.MEALS: (Category.ELDERLY_CARE, Urgency.TODAY),
    VisitFinding.MEDICINE: (Category.MEDICINE, Urgency.TODAY),
    VisitFinding.GROCERIES: (Category.SHORTAGE, Urgency.TODAY),
    VisitFinding.UNWELL: (Category.MEDICAL_TRIP, Urgency.EMERGENCY),
}


@transaction.atomic
def visit_record(*, actor, plan: VisitPlan, finding: str, mode: str = "", note: str = "") -> Visit:
    """Record a check; a finding that needs help raises a request for the resident at once."""
    if finding not in VisitFinding.values:
        raise ValidationError({"finding": [_("请选择情况")]})
    note = _clean_text(note, "note", required=False, limit=200)
    now = timezone.now()
    visit = Visit.objects.create(
        plan=plan, visitor=_user(actor), at=now, mode=mode or plan.mode, finding=finding, note=note
    )
    if finding != VisitFinding.NO_ANSWER:
        plan.last_visit_at = now
        plan.save(update_fields=["last_visit_at"])
    if finding in FINDING_REQUEST:
        category, urgency = FINDING_REQUEST[finding]
        resident = plan.resident
        text = VisitFinding(finding).label + (f":{note}" if note else "")
        req, _c = request_create(
            actor=actor,
            household=resident.household,
            resident=resident,
            category=category,
            urgency=urgency,
            description=text,
            source=Source.VISIT,
        )
        visit.request = req
        visit.save(update_fields=["request"])
    audit_record(actor=actor, action="care.visit_record", obj=plan, changes={"finding": finding})
    return visit


def visit_missed(plan: VisitPlan, today: dt.date | None = None) -> bool:
    """A check is missed once its due day has passed without one."""
    return plan.active and plan.next_due() < (today or timezone.localdate())


# Suggestions -----------------------------------------------------------------------------------


@transaction.atomic
def suggestion_submit(*, actor, household: Household, text: str, resident: Resident | None = None) -> Suggestion:
    """Store a suggestion in the group of its most similar open (unanswered) suggestion, or a new group."""
    text = _clean_text(text, "text", limit=500)
    if resident is not None and resident.household_id != household.pk:
        raise ValidationError({"resident": [_("该居民不属于此住户")]})
    nb = household.neighbourhood_id
    # Serialise submissions of one neighbourhood so two similar ones land in one group.
    CareSettings.objects.select_for_update().filter(pk=settings_for(nb).pk).first()
    others = list(
        Suggestion.objects.filter(neighbourhood_id=nb, group__replied_at__isnull=True)
        .order_by("id")
        .values_list("group_id", "text")[:2000]
    )
    near = {k: s for k, s in grouping.scores(text, others).items() if s >= grouping.THRESHOLD}
    if not near:
        group = SuggestionGroup.objects.create(neighbourhood_id=nb, summary=text[:200])
    else:
        group = SuggestionGroup.objects.get(pk=max(near, key=lambda k: near[k]))
        # The new text links groups the machine made apart (剪头发 … 头发太长了想理发 … 理发): they
        # become one. Groups staff merged into a common issue keep their own shape.
        joined = SuggestionGroup.objects.filter(pk__in=list(near), merged_at__isnull=True).exclude(pk=group.pk)
        for other in joined:
            other.suggestions.update(group=group)
            other.delete()
    suggestion = Suggestion.objects.create(
        neighbourhood_id=nb, household=household, resident=resident, text=text, group=group, created_by=_user(actor)
    )
    _refresh_summary(group)
    audit_record(actor=actor, action="care.suggestion_submit", obj=suggestion, changes={"group": group.pk})
    return suggestion


def _refresh_summary(group: SuggestionGroup) -> None:
    texts = list(group.suggestions.order_by("id").values_list("text", flat=True))
    summary = grouping.typical(texts)[:200]
    if summary and summary != group.summary:
        group.summary = summary
        group.save(update_fields=["summary"])


@transaction.atomic
def group_merge(*, actor, group: SuggestionGroup, others: list[SuggestionGroup], title: str = "") -> SuggestionGroup:
    """Merge ``others`` into ``group`` and make it a common issue (with its title)."""
    title = _clean_text(title, "title", required=False, limit=200)
    if group.replied_at is not None:
        raise TransitionError(_("已答复的问题不能再归并"))
    moved = []
    for other in others:
        if other.pk == group.pk:
            continue
        if other.neighbourhood_id != group.neighbourhood_id or other.replied_at is not None:
            raise ValidationError({"groups": [_("只能归并本居民区未答复的意见")]})
        other.suggestions.update(group=group)
        moved.append(other.pk)
        other.delete()
    group.title = title or group.title or group.summary
    group.merged_at = group.merged_at or timezone.now()
    group.save(update_fields=["title", "merged_at"])
    _refresh_summary(group)
    audit_record(
        actor=actor, action="care.suggestion_merge", obj=group, changes={"merged": moved, "title": group.title}
    )
    return group


@transaction.atomic
def group_reply(*, actor, group: SuggestionGroup, text: str) -> SuggestionGroup:
    """Reply once to a common issue: every supporter's link page shows it."""
    text = _clean_text(text, "text", limit=2000)
    locked = SuggestionGroup.objects.select_for_update().get(pk=group.pk)
    if locked.replied_at is not None:
        raise TransitionError(_("这个问题已经答复过了"))
    locked.reply = text
    locked.replied_at = timezone.now()
    locked.replied_by = _user(actor)
    locked.title = locked.title or locked.summary
    locked.merged_at = locked.merged_at or locked.replied_at
    locked.save(update_fields=["reply", "replied_at", "replied_by", "title", "merged_at"])
    audit_record(
        actor=actor,
        action="care.suggestion_reply",
        obj=locked,
        changes={"supporters": locked.suggestions.values("household_id").distinct().count()},
    )
    group.__dict__.update(locked.__dict__)
    return locked


@transaction.atomic
def settings_update(*, actor, settings: CareSettings, **values) -> CareSettings:
    for field, value in values.items():
        setattr(settings, field, value)
    settings.save()
    audit_record(
        actor=actor,
        action="care.settings_update",
        obj=settings,
        object_repr=str(settings),
        changes=dict(values.items()),
    )
    return settings


def run_done(*, actor, run: ErrandRun) -> ErrandRun:
    run.status = RunStatus.DONE
    run.save(update_fields=["status"])
    audit_record(actor=actor, action="care.errand_run_done", obj=run, object_repr=f"#{run.pk} {run.hospital}")
    return run
