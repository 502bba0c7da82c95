"""Volunteers on shifts: the health gate (whether a volunteer may go on duty today: their antigen or
PCR result, quarantine), assigning and claiming shifts, cancelling, checking in and out, hours, no-shows."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiayuan.control import selectors as control
from jiayuan.control.choices import ZoneLevel
from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_event, audit_record
from jiayuan.core.models import AuditEvent
from jiayuan.screening import selectors as screening
from jiayuan.screening.choices import AntigenResult, RetestStatus
from jiayuan.volunteers.choices import AssignmentSource
from jiayuan.volunteers.models import HOLDING, Shift, ShiftAssignment, TeamMembership, Volunteer
from jiayuan.volunteers.services._shared import AS, CHECKOUT_GRACE, MAX_SHIFT_HOURS, ShiftRefused, V

# --- The health gate -----------------------------------------------------------------------------


def health_gate(
    volunteer: Volunteer, shift: Shift, *, antigen: bool, antigen_seen: bool = False
) -> tuple[str, str] | None:
    """Why ``volunteer`` may not work ``shift`` now: ``(code, Chinese message)``, or None.

    ``antigen``: also require today's negative antigen where the team asks for one (at check-in,
    and when assigning a resident to a shift of today). A resident's is their report of the day
    (screening's record). Outsiders have no resident record: control and screening know nothing
    of them and they cannot report through a household link, so whoever checks them in looks at
    their test and says so (``antigen_seen``, audited with the check-in).
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
        if resident is None:
            if antigen_seen:
                return None
            return "no_antigen_today", _(
                "%(team)s要求当日抗原阴性: %(name)s 不是本社区居民, 请由队长或居委会查验其当日抗原阴性结果后签到"
            ) % {"team": shift.team.name, "name": volunteer.name}
        report = screening.antigen_reports_for(resident_ids=[resident.pk], date=today).get(resident.pk)
        if report is None or report.result != AntigenResult.NEGATIVE:
            return "no_antigen_today", _("%(team)s要求当日抗原阴性, %(name)s 今天还没有抗原阴性记录") % {
                "team": shift.team.name,
                "name": volunteer.name,
            }
    return None


def _check_gate(volunteer: Volunteer, shift: Shift, *, antigen: bool, antigen_seen: bool = False) -> None:
    refusal = health_gate(volunteer, shift, antigen=antigen, antigen_seen=antigen_seen)
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
    # An outsider's antigen is looked at when they check in (``health_gate``).
    _check_gate(volunteer, shift, antigen=_shift_is_today(shift) and volunteer.resident_id is not None)
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
    antigen_seen: bool = False,
) -> ShiftAssignment:
    """Check ``volunteer`` in on ``shift`` (assigning them first when they came without a place,
    as ``source``: a volunteer checking themselves in claims, so only on their own team's
    shifts): the health gate again, today's antigen included. ``antigen_seen``: the staff member
    or team leader checking an outsider in has seen their negative test of the day (not taken
    from a volunteer checking themselves in)."""
    antigen_seen = bool(antigen_seen) and source != AssignmentSource.CLAIM
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
    shift = Shift.objects.select_related("team").get(pk=shift.pk)
    _check_gate(volunteer, shift, antigen=True, antigen_seen=antigen_seen)
    assignment.status = AS.CHECKED_IN
    assignment.checked_in_at = at
    assignment.checked_in_by = _user(actor)
    assignment.save(update_fields=["status", "checked_in_at", "checked_in_by"])
    changes = {"shift": shift.pk, "at": at.isoformat()}
    if antigen_seen and volunteer.resident_id is None and shift.team.requires_antigen_today:
        changes["antigen_seen"] = True  # who looked at the outsider's test: the actor
    audit_record(actor=actor, action="volunteer.check_in", obj=assignment, changes=changes)
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
