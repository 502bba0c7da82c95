"""Writes of the volunteers app: the registry, teams, shifts, the health gate, check-in/out.

Services take the acting user first, keyword-only; they validate, write inside
``transaction.atomic`` and append an audit event. A refusal that is not bad input (the health
gate, an overlap, a full shift) raises ``ShiftRefused`` with a stable ``code``: the API answers
409 ``{"detail", "code"}``, the pages show the Chinese ``message``.

The health gate reads control's and screening's selectors (quarantine and temporary home
control, sealed zones, open cases, antigen retests and reports); it does not repeat their rules.
Places on a shift are taken with the shift row locked (``select_for_update``), so two people
claiming the last place cannot both get it; the volunteer row is locked next (always in this
order) so one person cannot be put on two overlapping shifts at once.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiayuan.control import selectors as control
from jiayuan.control.choices import ZoneLevel
from jiayuan.core import crypto, extensions
from jiayuan.core.audit import audit_event, audit_record
from jiayuan.core.masking import mask_phone
from jiayuan.core.models import AuditEvent
from jiayuan.people import normalize
from jiayuan.screening import selectors as screening
from jiayuan.screening.choices import AntigenResult, RetestStatus
from jiayuan.volunteers.choices import AssignmentSource, AssignmentStatus, PlaceKind, Skill, TeamKind, VolunteerStatus
from jiayuan.volunteers.models import HOLDING, Shift, ShiftAssignment, Team, TeamMembership, Volunteer

V = VolunteerStatus
AS = AssignmentStatus

MAX_SHIFT_HOURS = 24
# A check-out this long after the shift's end is a forgotten one: hours stop at the shift's end.
CHECKOUT_GRACE = dt.timedelta(hours=2)

# Status changes staff may make, from → allowed targets.
TRANSITIONS: dict[str, frozenset[str]] = {
    V.APPLIED: frozenset({V.APPROVED, V.ACTIVE, V.LEFT}),
    V.APPROVED: frozenset({V.ACTIVE, V.PAUSED, V.LEFT}),
    V.ACTIVE: frozenset({V.PAUSED, V.LEFT}),
    V.PAUSED: frozenset({V.ACTIVE, V.LEFT}),
    V.LEFT: frozenset({V.ACTIVE}),
}


class ShiftRefused(Exception):
    """A refusal with a stable ``code`` (API 409) and a Chinese ``message``."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


# --- Registry ------------------------------------------------------------------------------------


def _clean_skills(skills) -> list[str]:
    skills = list(dict.fromkeys(skills or []))
    bad = [s for s in skills if s not in Skill.values]
    if bad:
        raise ValidationError({"skills": [_("不是可选的技能: %(bad)s") % {"bad": ", ".join(map(str, bad))}]})
    return skills


def _set_phone(volunteer: Volunteer, phone: str) -> None:
    clean = ""
    if phone:
        try:
            clean = normalize.normalize_phone(phone)
        except ValidationError as exc:
            raise ValidationError({"phone": exc.messages}) from exc
    volunteer.phone = clean
    volunteer.phone_hash = crypto.keyed_hash(clean)
    volunteer.phone_last4 = clean[-4:] if clean else ""


@transaction.atomic
def volunteer_create(
    *,
    actor,
    neighbourhood,
    resident=None,
    name: str = "",
    phone: str = "",
    skills=None,
    availability: str = "",
    party_member: bool = False,
    dual_registration_org: str = "",
    dual_registration_date: dt.date | None = None,
    commitment_signed: bool = False,
    note: str = "",
    status: str = V.ACTIVE,
) -> Volunteer:
    """Register a volunteer: a resident of the neighbourhood, or an outsider by name and phone.
    Staff add volunteers ``active``; a household's application comes in ``applied``."""
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if resident is not None:
        if resident.neighbourhood_id != neighbourhood.pk:
            errors["resident"] = [_("该居民不属于本居民区")]
        elif Volunteer.objects.filter(neighbourhood=neighbourhood, resident=resident).exists():
            errors["resident"] = [_("该居民已登记为志愿者")]
        name = resident.name
    elif not name:
        errors["name"] = [_("请填写姓名(或选择居民)")]
    elif not phone:
        errors["phone"] = [_("社区外志愿者请填写联系电话")]
    if len(name) > 64:
        errors["name"] = [_("姓名过长")]
    if status not in V.values:
        errors["status"] = [_("不是可选的状态")]
    try:
        skills = _clean_skills(skills)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    volunteer = Volunteer(
        neighbourhood=neighbourhood,
        resident=resident,
        building_id=resident.household.building_id if resident is not None and resident.household_id else None,
        name=name,
        skills=skills,
        availability=(availability or "").strip()[:200],
        party_member=bool(party_member),
        dual_registration_org=(dual_registration_org or "").strip()[:200],
        dual_registration_date=dual_registration_date,
        commitment_signed_at=timezone.now() if commitment_signed else None,
        note=(note or "").strip(),
        status=status,
        created_by=_user(actor),
    )
    try:
        _set_phone(volunteer, "" if resident is not None else phone)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    if status in (V.APPROVED, V.ACTIVE):
        volunteer.reviewed_by = _user(actor)
        volunteer.reviewed_at = timezone.now()
    try:
        with transaction.atomic():
            volunteer.save()
    except IntegrityError as exc:
        raise ValidationError({"resident": [_("该居民已登记为志愿者")]}) from exc
    action = "volunteer.apply" if status == V.APPLIED else "volunteer.create"
    audit_record(
        actor=actor,
        action=action,
        obj=volunteer,
        changes={"status": status, "outsider": resident is None, "skills": skills},
    )
    return volunteer


@transaction.atomic
def volunteer_update(*, actor, volunteer: Volunteer, **changes) -> Volunteer:
    """Change the plain fields (skills, availability, party membership, 双报到, note, phone)."""
    allowed = {
        "skills",
        "availability",
        "party_member",
        "dual_registration_org",
        "dual_registration_date",
        "note",
        "phone",
        "commitment_signed",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({"__all__": [_("不能修改: %(f)s") % {"f": ", ".join(sorted(unknown))}]})
    diff = {}
    if "skills" in changes:
        changes["skills"] = _clean_skills(changes["skills"])
    if "phone" in changes:
        if volunteer.resident_id:
            changes.pop("phone")
        else:
            before = volunteer.phone
            _set_phone(volunteer, changes.pop("phone"))
            if before != volunteer.phone:
                diff["phone"] = [mask_phone(before), mask_phone(volunteer.phone)]
    if "commitment_signed" in changes:
        signed = bool(changes.pop("commitment_signed"))
        if signed and not volunteer.commitment_signed_at:
            volunteer.commitment_signed_at = timezone.now()
            diff["commitment_signed"] = [False, True]
        elif not signed and volunteer.commitment_signed_at:
            volunteer.commitment_signed_at = None
            diff["commitment_signed"] = [True, False]
    for field, value in changes.items():
        if isinstance(value, str):
            value = value.strip()
        before = getattr(volunteer, field)
        if before != value:
            diff[field] = [str(before), str(value)]
            setattr(volunteer, field, value)
    volunteer.full_clean(exclude=["phone_hash", "phone_last4", "resident", "user"], validate_constraints=False)
    volunteer.save()
    if diff:
        audit_record(actor=actor, action="volunteer.update", obj=volunteer, changes=diff)
    return volunteer


@transaction.atomic
def volunteer_set_status(*, actor, volunteer: Volunteer, status: str, reason: str = "") -> Volunteer:
    volunteer = Volunteer.objects.select_for_update().get(pk=volunteer.pk)
    if status not in TRANSITIONS.get(volunteer.status, ()):
        raise ValidationError(
            {
                "status": [
                    _("不能从“%(a)s”改为“%(b)s”")
                    % {"a": V(volunteer.status).label, "b": V(status).label if status in V.values else status}
                ]
            }
        )
    before = volunteer.status
    volunteer.status = status
    if status in (V.APPROVED, V.ACTIVE) and volunteer.reviewed_at is None:
        volunteer.reviewed_by = _user(actor)
        volunteer.reviewed_at = timezone.now()
    volunteer.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    if status in (V.PAUSED, V.LEFT):
        # Future places are freed for others; done and running shifts stay on the record.
        ShiftAssignment.objects.filter(
            volunteer=volunteer, status=AS.ASSIGNED, shift__starts_at__gt=timezone.now()
        ).update(status=AS.CANCELLED)
    audit_record(
        actor=actor,
        action="volunteer.status",
        obj=volunteer,
        changes={"status": [before, status], "reason": (reason or "").strip()[:200]},
    )
    return volunteer


@transaction.atomic
def volunteer_link_user(*, actor, volunteer: Volunteer, user) -> Volunteer:
    """Link (or unlink, ``user=None``) the login a volunteer uses for "my shifts"."""
    if user is not None and Volunteer.objects.filter(user=user).exclude(pk=volunteer.pk).exists():
        raise ValidationError({"user": [_("该账号已关联其他志愿者")]})
    before = volunteer.user_id
    volunteer.user = user
    volunteer.save(update_fields=["user"])
    audit_record(
        actor=actor, action="volunteer.link_user", obj=volunteer, changes={"user": [before, user.pk if user else None]}
    )
    return volunteer


def volunteer_reveal_phone(*, actor, volunteer: Volunteer) -> str:
    """The full phone number (the resident's for a resident volunteer); the read is audited."""
    phone = volunteer.resident.phone if volunteer.resident_id else volunteer.phone
    audit_record(actor=actor, action="volunteer.reveal", obj=volunteer, changes={"field": "phone"})
    return phone


# --- Teams ---------------------------------------------------------------------------------------


@transaction.atomic
def team_create(
    *, actor, neighbourhood, name: str, kind: str, requires_antigen_today: bool = False, description: str = ""
) -> Team:
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = [_("请填写队名")]
    elif len(name) > 64:
        errors["name"] = [_("队名过长")]
    elif Team.objects.filter(neighbourhood=neighbourhood, name=name).exists():
        errors["name"] = [_("已有同名队伍")]
    if kind not in TeamKind.values:
        errors["kind"] = [_("请选择任务类别")]
    if errors:
        raise ValidationError(errors)
    team = Team.objects.create(
        neighbourhood=neighbourhood,
        name=name,
        kind=kind,
        requires_antigen_today=bool(requires_antigen_today),
        description=(description or "").strip(),
    )
    audit_record(
        actor=actor,
        action="volunteer.team_create",
        obj=team,
        changes={"kind": kind, "requires_antigen_today": team.requires_antigen_today},
    )
    return team


@transaction.atomic
def team_update(*, actor, team: Team, requires_antigen_today: bool, description: str, active: bool = True) -> Team:
    diff = {}
    for field, value in (
        ("requires_antigen_today", bool(requires_antigen_today)),
        ("description", (description or "").strip()),
        ("active", bool(active)),
    ):
        if getattr(team, field) != value:
            diff[field] = [getattr(team, field), value]
            setattr(team, field, value)
    team.save()
    if diff:
        audit_record(actor=actor, action="volunteer.team_update", obj=team, changes=diff)
    return team


@transaction.atomic
def team_add_member(*, actor, team: Team, volunteer: Volunteer, is_leader: bool = False) -> TeamMembership:
    if volunteer.neighbourhood_id != team.neighbourhood_id:
        raise ValidationError({"volunteer": [_("该志愿者不属于本居民区")]})
    if volunteer.status == V.LEFT:
        raise ValidationError({"volunteer": [_("该志愿者已退出")]})
    membership = TeamMembership.objects.filter(team=team, volunteer=volunteer).first()
    if membership is not None:
        if membership.is_leader == bool(is_leader):
            return membership
        return team_set_leader(actor=actor, membership=membership, is_leader=is_leader)
    membership = TeamMembership.objects.create(
        neighbourhood_id=team.neighbourhood_id, team=team, volunteer=volunteer, is_leader=bool(is_leader)
    )
    audit_record(
        actor=actor,
        action="volunteer.team_join",
        obj=volunteer,
        changes={"team": team.pk, "team_name": team.name, "is_leader": membership.is_leader},
    )
    return membership


@transaction.atomic
def team_set_leader(*, actor, membership: TeamMembership, is_leader: bool) -> TeamMembership:
    membership.is_leader = bool(is_leader)
    membership.save(update_fields=["is_leader"])
    audit_record(
        actor=actor,
        action="volunteer.team_leader",
        obj=membership.volunteer,
        changes={"team": membership.team_id, "is_leader": membership.is_leader},
    )
    return membership


@transaction.atomic
def team_remove_member(*, actor, membership: TeamMembership) -> None:
    audit_record(
        actor=actor,
        action="volunteer.team_leave",
        obj=membership.volunteer,
        changes={"team": membership.team_id},
    )
    membership.delete()


def leads(user, team_id: int) -> bool:
    """Whether ``user`` is a leader of the team (through their volunteer record)."""
    vol = getattr(user, "volunteer", None) if getattr(user, "is_authenticated", False) else None
    if vol is None:
        return False
    return TeamMembership.objects.filter(volunteer=vol, team_id=team_id, is_leader=True).exists()


# --- Shifts ----------------------------------------------------------------------------------------


@transaction.atomic
def shift_create(
    *,
    actor,
    team: Team,
    date: dt.date,
    start: dt.time,
    end: dt.time,
    needed: int,
    place: str = "",
    place_kind: str = "other",
    place_ref: str = "",
    building=None,
    note: str = "",
) -> Shift:
    """A shift of ``team``. ``place_ref`` names a real place of ``place_kind`` another app provides
    (a gate: ``"gate:<id>"``, ``core.extensions.place_choices``); ``place`` then reads its label."""
    errors = {}
    place_ref = (place_ref or "").strip()
    if place_ref:
        label = dict(extensions.place_choices(place_kind, team.neighbourhood_id)).get(place_ref)
        if label is not None:
            place = str(label)
        elif any(
            place_ref in dict(extensions.place_choices(kind, team.neighbourhood_id))
            for kind in PlaceKind.values
            if kind != place_kind
        ):
            errors["place_ref"] = [_("所选地点与地点类型不符")]
        else:
            errors["place_ref"] = [_("不是本居民区可选的地点")]
    if start == end:
        errors["end"] = [_("结束时间不能与开始时间相同")]
    if not needed or needed < 1 or needed > 500:
        errors["needed"] = [_("需要人数应在 1 至 500 之间")]
    if building is not None and building.neighbourhood_id != team.neighbourhood_id:
        errors["building"] = [_("该楼栋不属于本居民区")]
    if not team.active:
        errors["team"] = [_("该队伍已停用")]
    if errors:
        raise ValidationError(errors)
    shift = Shift(
        neighbourhood_id=team.neighbourhood_id,
        team=team,
        date=date,
        start=start,
        end=end,
        needed=needed,
        place=(place or "").strip()[:200] or (building.name if building is not None else ""),
        place_kind=place_kind,
        place_ref=place_ref,
        building=building,
        note=(note or "").strip(),
        created_by=_user(actor),
    )
    shift.full_clean(exclude=["starts_at", "ends_at", "neighbourhood"], validate_constraints=False)
    shift.save()
    audit_record(
        actor=actor,
        action="volunteer.shift_create",
        obj=shift,
        changes={"team": team.pk, "place": shift.place, "place_ref": place_ref, "needed": needed},
    )
    return shift


@transaction.atomic
def shift_cancel(*, actor, shift: Shift, reason: str = "") -> Shift:
    shift = Shift.objects.select_for_update().get(pk=shift.pk)
    if shift.cancelled:
        return shift
    shift.cancelled = True
    shift.save(update_fields=["cancelled"])
    shift.assignments.filter(status=AS.ASSIGNED).update(status=AS.CANCELLED)
    audit_record(actor=actor, action="volunteer.shift_cancel", obj=shift, changes={"reason": reason[:200]})
    return shift


# --- The health gate -----------------------------------------------------------------------------


def health_gate(volunteer: Volunteer, shift: Shift, *, antigen: bool) -> tuple[str, str] | None:
    """Why ``volunteer`` may not work ``shift`` now: ``(code, Chinese message)``, or None.

    ``antigen``: also require today's negative antigen report where the team asks for one (at
    check-in, and when assigning a shift of today). Outsiders have no resident record: control
    and screening know nothing of them, so only the antigen rule applies (and they cannot meet
    it through the household link: a team that requires it takes residents only).
    """
    resident = volunteer.resident
    today = timezone.localdate()
    if resident is not None:
        rid = resident.pk
        if rid in control.residents_with_open_case([rid]):
            return "positive", _("%(name)s 有尚未解除的阳性病例记录, 不能上岗") % {"name": volunteer.name}
        retest = screening.antigen_retests_for(resident_ids=[rid]).get(rid)
        if retest is not None and retest.status in (RetestStatus.PENDING, RetestStatus.SAMPLED):
            return "positive", _("%(name)s 抗原阳性, 正在等待核酸复核, 不能上岗") % {"name": volunteer.name}
        if resident.household_id:
            for q in control.household_under_control(resident.household):
                if q.resident_id in (None, rid):
                    return "quarantined", _("%(name)s 正在%(kind)s(%(reason)s), 不能上岗") % {
                        "name": volunteer.name,
                        "kind": q.current_kind_label,
                        "reason": q.get_reason_display(),
                    }
            bid = resident.household.building_id
            if control.zone_levels(building_ids=[bid]).get(bid) == ZoneLevel.SEALED and shift.building_id != bid:
                return "sealed_building", _("%(name)s 所住的%(building)s是封控区, 足不出户, 只能在本楼内服务") % {
                    "name": volunteer.name,
                    "building": resident.household.building.name,
                }
    if antigen and shift.team.requires_antigen_today:
        report = (
            screening.antigen_reports_for(resident_ids=[resident.pk], date=today).get(resident.pk)
            if resident is not None
            else None
        )
        if report is None or report.result != AntigenResult.NEGATIVE:
            return "no_antigen_today", _("%(team)s要求当日抗原阴性, %(name)s 今天还没有抗原阴性记录") % {
                "team": shift.team.name,
                "name": volunteer.name,
            }
    return None


def _check_gate(volunteer: Volunteer, shift: Shift, *, antigen: bool) -> None:
    refusal = health_gate(volunteer, shift, antigen=antigen)
    if refusal is not None:
        raise ShiftRefused(*refusal)


def _check_active(volunteer: Volunteer) -> None:
    if volunteer.status != V.ACTIVE:
        raise ShiftRefused(
            "inactive",
            _("%(name)s 当前状态为“%(status)s”, 不能排班或上岗")
            % {"name": volunteer.name, "status": V(volunteer.status).label},
        )


def _check_overlap(volunteer: Volunteer, shift: Shift) -> None:
    other = (
        ShiftAssignment.objects.filter(
            volunteer=volunteer,
            status__in=HOLDING,
            shift__cancelled=False,
            shift__starts_at__lt=shift.ends_at,
            shift__ends_at__gt=shift.starts_at,
        )
        .exclude(shift=shift)
        .select_related("shift__team")
        .first()
    )
    if other is not None:
        raise ShiftRefused(
            "overlap", _("%(name)s 在这个时段已有班次: %(shift)s") % {"name": volunteer.name, "shift": other.shift}
        )


def _shift_is_today(shift: Shift) -> bool:
    now = timezone.now()
    return shift.date == timezone.localdate() or shift.starts_at <= now < shift.ends_at


@transaction.atomic
def shift_assign(*, actor, shift: Shift, volunteer: Volunteer, source: str = AssignmentSource.STAFF) -> ShiftAssignment:
    """Put ``volunteer`` on ``shift``: active, through the health gate, no overlap, a free place.

    Re-assigning someone already on the shift returns their assignment unchanged.
    """
    shift = Shift.objects.select_for_update(of=("self",)).select_related("team").get(pk=shift.pk)
    volunteer = (
        Volunteer.objects.select_for_update(of=("self",))
        .select_related("resident__household__building")
        .get(pk=volunteer.pk)
    )
    if volunteer.neighbourhood_id != shift.neighbourhood_id:
        raise ValidationError({"volunteer": [_("该志愿者不属于本居民区")]})
    existing = ShiftAssignment.objects.filter(shift=shift, volunteer=volunteer).first()
    if existing is not None and existing.status in HOLDING:
        return existing
    if shift.cancelled:
        raise ShiftRefused("cancelled", _("该班次已取消"))
    if shift.ends_at <= timezone.now() and source == AssignmentSource.CLAIM:
        raise ShiftRefused("ended", _("该班次已结束"))
    _check_active(volunteer)
    _check_gate(volunteer, shift, antigen=_shift_is_today(shift))
    _check_overlap(volunteer, shift)
    taken = shift.assignments.filter(status__in=HOLDING).count()
    if taken >= shift.needed:
        raise ShiftRefused("full", _("该班次已满员(%(n)s 人)") % {"n": shift.needed})
    if existing is not None:
        existing.status = AS.ASSIGNED
        existing.source = source
        existing.assigned_by = _user(actor)
        existing.checked_in_at = existing.checked_out_at = None
        existing.hours = Decimal("0")
        existing.save()
        assignment = existing
    else:
        assignment = ShiftAssignment.objects.create(
            neighbourhood_id=shift.neighbourhood_id,
            shift=shift,
            volunteer=volunteer,
            source=source,
            assigned_by=_user(actor),
        )
    audit_record(
        actor=actor,
        action="volunteer.shift_claim" if source == AssignmentSource.CLAIM else "volunteer.shift_assign",
        obj=assignment,
        changes={"shift": shift.pk, "volunteer": volunteer.pk, "source": source},
    )
    return assignment


def shift_claim(*, actor, shift: Shift) -> ShiftAssignment:
    """The signed-in volunteer takes a place on an open shift of one of their teams."""
    volunteer = getattr(actor, "volunteer", None)
    if volunteer is None:
        raise ValidationError({"__all__": [_("您的账号没有关联志愿者档案, 请联系居委会")]})
    if not TeamMembership.objects.filter(team_id=shift.team_id, volunteer=volunteer).exists():
        raise ValidationError({"__all__": [_("只能认领本人所在队伍的班次")]})
    return shift_assign(actor=actor, shift=shift, volunteer=volunteer, source=AssignmentSource.CLAIM)


@transaction.atomic
def assignment_cancel(*, actor, assignment: ShiftAssignment) -> ShiftAssignment:
    assignment = ShiftAssignment.objects.select_for_update().get(pk=assignment.pk)
    if assignment.status != AS.ASSIGNED:
        raise ValidationError({"__all__": [_("已签到或已结束的排班不能取消")]})
    assignment.status = AS.CANCELLED
    assignment.save(update_fields=["status"])
    audit_record(actor=actor, action="volunteer.shift_unassign", obj=assignment, changes={"shift": assignment.shift_id})
    return assignment


def _at(at: dt.datetime | None) -> dt.datetime:
    if at is None:
        return timezone.now()
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    return at


@transaction.atomic
def check_in(
    *,
    actor,
    shift: Shift,
    volunteer: Volunteer,
    at: dt.datetime | None = None,
    source: str = AssignmentSource.LEADER,
) -> ShiftAssignment:
    """Check ``volunteer`` in on ``shift`` (assigning them first when they came without a place,
    as ``source``: a volunteer checking themselves in claims, so only on their own team's
    shifts): the health gate again, today's antigen included."""
    at = _at(at)
    if not shift.starts_at - dt.timedelta(hours=2) <= at <= shift.ends_at:
        raise ValidationError({"at": [_("签到时间应在班次开始前两小时至班次结束之间")]})
    if at > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError({"at": [_("签到时间不能晚于现在")]})
    assignment = ShiftAssignment.objects.filter(shift=shift, volunteer=volunteer, status__in=HOLDING).first()
    if assignment is None:
        if source == AssignmentSource.CLAIM:
            assignment = shift_claim(actor=actor, shift=shift)
        else:
            assignment = shift_assign(actor=actor, shift=shift, volunteer=volunteer, source=source)
    assignment = ShiftAssignment.objects.select_for_update().get(pk=assignment.pk)
    if assignment.status == AS.CHECKED_IN:
        return assignment
    if assignment.status == AS.DONE:
        raise ShiftRefused("checked_out", _("%(name)s 已签退") % {"name": volunteer.name})
    volunteer = Volunteer.objects.select_related("resident__household__building").get(pk=volunteer.pk)
    _check_active(volunteer)
    _check_gate(volunteer, Shift.objects.select_related("team").get(pk=shift.pk), antigen=True)
    assignment.status = AS.CHECKED_IN
    assignment.checked_in_at = at
    assignment.checked_in_by = _user(actor)
    assignment.save(update_fields=["status", "checked_in_at", "checked_in_by"])
    audit_record(
        actor=actor, action="volunteer.check_in", obj=assignment, changes={"shift": shift.pk, "at": at.isoformat()}
    )
    return assignment


def hours_between(start: dt.datetime, end: dt.datetime) -> Decimal:
    seconds = max(0.0, (end - start).total_seconds())
    return (Decimal(seconds) / Decimal(3600)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@transaction.atomic
def check_out(*, actor, shift: Shift, volunteer: Volunteer, at: dt.datetime | None = None) -> ShiftAssignment:
    """Check out: the hours are from check-in to check-out (across midnight too), stopping at the
    shift's end when the check-out came much later (a forgotten one)."""
    at = _at(at)
    assignment = (
        ShiftAssignment.objects.select_for_update()
        .filter(shift=shift, volunteer=volunteer)
        .exclude(status=AS.CANCELLED)
    ).first()
    if assignment is None or assignment.status not in (AS.CHECKED_IN, AS.DONE):
        raise ShiftRefused("not_checked_in", _("%(name)s 还没有签到") % {"name": volunteer.name})
    if assignment.status == AS.DONE:
        return assignment
    if at < assignment.checked_in_at:
        raise ValidationError({"at": [_("签退时间不能早于签到时间")]})
    if at > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError({"at": [_("签退时间不能晚于现在")]})
    counted_until = min(at, shift.ends_at) if at > shift.ends_at + CHECKOUT_GRACE else at
    assignment.status = AS.DONE
    assignment.checked_out_at = at
    assignment.checked_out_by = _user(actor)
    assignment.hours = min(hours_between(assignment.checked_in_at, counted_until), Decimal(MAX_SHIFT_HOURS))
    assignment.save(update_fields=["status", "checked_out_at", "checked_out_by", "hours"])
    audit_record(
        actor=actor,
        action="volunteer.check_out",
        obj=assignment,
        changes={"shift": shift.pk, "at": at.isoformat(), "hours": str(assignment.hours)},
    )
    return assignment


@transaction.atomic
def no_shows_mark(*, actor, now: dt.datetime | None = None, neighbourhood_id: int | None = None) -> int:
    """Mark as no-shows the people still only assigned to a shift that has ended."""
    now = now or timezone.now()
    qs = ShiftAssignment.objects.filter(status=AS.ASSIGNED, shift__ends_at__lte=now, shift__cancelled=False)
    if neighbourhood_id is not None:
        qs = qs.filter(neighbourhood_id=neighbourhood_id)
    rows = list(qs.select_related("volunteer", "shift__team"))
    if not rows:
        return 0
    ShiftAssignment.objects.filter(pk__in=[r.pk for r in rows]).update(status=AS.NO_SHOW)
    AuditEvent.objects.bulk_create(
        [audit_event(actor=actor, action="volunteer.no_show", obj=row, changes={"shift": row.shift_id}) for row in rows]
    )
    return len(rows)
