"""Reads of the volunteers app, always through the acting user's scope (``restrict``).

Who may manage a shift: staff with MANAGE_SHIFTS over it, or a leader of its team (a
membership flag, not a role). Hours count the assignments checked out (``done``) of shifts
whose day falls in the period; a shift across midnight counts on the day it started.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can, get_scoped_or_404, restrict
from jiayuan.volunteers.choices import AssignmentStatus, VolunteerStatus
from jiayuan.volunteers.models import HOLDING, Shift, ShiftAssignment, Team, TeamMembership, Volunteer

AS = AssignmentStatus


def my_volunteer(user) -> Volunteer | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Volunteer.objects.filter(user=user).first()


def led_team_ids(user) -> set[int]:
    vol = my_volunteer(user)
    if vol is None:
        return set()
    return set(TeamMembership.objects.filter(volunteer=vol, is_leader=True).values_list("team_id", flat=True))


def may_manage_shift(user, shift: Shift) -> bool:
    return can(user, Action.MANAGE_SHIFTS, shift) or shift.team_id in led_team_ids(user)


# --- Registry and teams --------------------------------------------------------------------------


def volunteer_list(*, user, status: str = "", team_id: int | None = None, q: str = "") -> QuerySet[Volunteer]:
    qs = restrict(Volunteer.objects.select_related("building"), user, Action.VIEW_VOLUNTEERS)
    if status:
        qs = qs.filter(status=status)
    if team_id:
        qs = qs.filter(memberships__team_id=team_id)
    if q:
        qs = qs.filter(Q(name__contains=q) | Q(phone_last4=q))
    return qs.prefetch_related(Prefetch("memberships", TeamMembership.objects.select_related("team"))).order_by(
        "name", "id"
    )


def volunteer_get(*, user, volunteer_id: int, action: str = Action.VIEW_VOLUNTEERS) -> Volunteer:
    return get_scoped_or_404(
        Volunteer.objects.select_related("resident__household__building", "building", "user"),
        user,
        action,
        pk=volunteer_id,
    )


def volunteer_totals(volunteer_ids) -> dict[int, dict]:
    """``{volunteer_id: {"hours": Decimal, "shifts_done": int}}`` over all time."""
    out = {vid: {"hours": Decimal("0.00"), "shifts_done": 0} for vid in volunteer_ids}
    for vid, hours, n in (
        ShiftAssignment.objects.filter(volunteer_id__in=list(out), status=AS.DONE)
        .values("volunteer_id")
        .annotate(h=Sum("hours"), n=Count("id"))
        .values_list("volunteer_id", "h", "n")
    ):
        out[vid] = {"hours": _hours(hours), "shifts_done": n}
    return out


def volunteer_logins(neighbourhood_id: int):
    """Accounts with an active volunteer role in the neighbourhood, not yet linked to a volunteer
    (the choices for "关联登录账号")."""
    from jiayuan.accounts.models import Assignment, User
    from jiayuan.core.permissions import Role

    granted = Assignment.objects.filter(role=Role.VOLUNTEER, active=True).filter(
        Q(neighbourhood_id=neighbourhood_id)
        | Q(compound__neighbourhood_id=neighbourhood_id)
        | Q(building__neighbourhood_id=neighbourhood_id)
    )
    return (
        User.objects.filter(is_active=True, pk__in=granted.values("user_id"))
        .exclude(pk__in=Volunteer.objects.filter(user__isnull=False).values("user_id"))
        .order_by("display_name", "username")
    )


def team_list(*, user) -> QuerySet[Team]:
    return (
        restrict(Team.objects.all(), user, Action.VIEW_VOLUNTEERS)
        .annotate(member_count=Count("memberships", distinct=True))
        .prefetch_related(
            Prefetch(
                "memberships",
                TeamMembership.objects.filter(is_leader=True).select_related("volunteer"),
                to_attr="leader_rows",
            )
        )
        .order_by("kind", "name")
    )


def team_get(*, user, team_id: int, action: str = Action.VIEW_VOLUNTEERS) -> Team:
    return get_scoped_or_404(Team.objects.all(), user, action, pk=team_id)


# --- Shifts --------------------------------------------------------------------------------------


def _with_assignments(qs: QuerySet[Shift]) -> QuerySet[Shift]:
    return qs.select_related("team", "building").prefetch_related(
        Prefetch(
            "assignments",
            ShiftAssignment.objects.exclude(status=AS.CANCELLED).select_related("volunteer").order_by("id"),
            to_attr="rows",
        )
    )


def shift_list(
    *, user, start: dt.date, end: dt.date, team_id: int | None = None, short_only: bool = False
) -> list[Shift]:
    qs = restrict(Shift.objects.filter(date__gte=start, date__lte=end, cancelled=False), user, Action.VIEW_VOLUNTEERS)
    if team_id:
        qs = qs.filter(team_id=team_id)
    shifts = list(_with_assignments(qs).order_by("starts_at", "team__name", "id"))
    for s in shifts:
        _decorate(s)
    if short_only:
        shifts = [s for s in shifts if s.short > 0]
    return shifts


def shift_get(*, user, shift_id: int) -> Shift:
    shift = get_scoped_or_404(_with_assignments(Shift.objects.all()), user, Action.VIEW_VOLUNTEERS, pk=shift_id)
    _decorate(shift)
    return shift


def _decorate(shift: Shift, now: dt.datetime | None = None) -> Shift:
    now = now or timezone.now()
    rows = getattr(shift, "rows", None)
    if rows is None:
        rows = list(shift.assignments.exclude(status=AS.CANCELLED).select_related("volunteer"))
        shift.rows = rows
    shift.taken = sum(1 for r in rows if r.status in HOLDING)
    shift.short = max(0, shift.needed - shift.taken)
    shift.on_duty = [r for r in rows if r.status == AS.CHECKED_IN]
    shift.running = shift.starts_at <= now < shift.ends_at
    shift.ended = shift.ends_at <= now
    return shift


def my_shifts(*, user, days: int = 7) -> dict:
    """The signed-in volunteer's own shifts (from yesterday on) and the open shifts of their teams."""
    vol = my_volunteer(user)
    if vol is None:
        return {"volunteer": None, "mine": [], "open": [], "led": []}
    now = timezone.now()
    today = timezone.localdate()
    mine = list(
        ShiftAssignment.objects.filter(
            volunteer=vol, status__in=HOLDING, shift__ends_at__gt=now - dt.timedelta(hours=12)
        )
        .select_related("shift__team", "shift__building")
        .order_by("shift__starts_at")
    )
    team_ids = list(vol.memberships.values_list("team_id", flat=True))
    mine_ids = {a.shift_id for a in mine}
    open_shifts = [
        _decorate(s, now)
        for s in _with_assignments(
            Shift.objects.filter(
                team_id__in=team_ids,
                cancelled=False,
                ends_at__gt=now,
                date__lte=today + dt.timedelta(days=days),
            )
        ).order_by("starts_at")
        if s.pk not in mine_ids
    ]
    led = sorted(led_team_ids(user))
    return {
        "volunteer": vol,
        "mine": mine,
        "open": [s for s in open_shifts if s.short > 0],
        "led": led,
    }


# --- Duty board ----------------------------------------------------------------------------------


def duty_board(*, user, day: dt.date | None = None) -> dict:
    """Today's shifts by team: who is on duty where now, shifts short of people, and a text per
    team for its WeChat group. A shift from last night that runs into today is on the board."""
    day = day or timezone.localdate()
    now = timezone.now()
    qs = restrict(
        Shift.objects.filter(cancelled=False).filter(Q(date=day) | Q(date=day - dt.timedelta(days=1), ends_at__gt=now)),
        user,
        Action.VIEW_VOLUNTEERS,
    )
    shifts = [_decorate(s, now) for s in _with_assignments(qs).order_by("team__kind", "team__name", "starts_at")]
    teams: dict[int, dict] = {}
    for s in shifts:
        entry = teams.setdefault(s.team_id, {"team": s.team, "shifts": [], "short": 0, "on_duty": 0})
        entry["shifts"].append(s)
        entry["short"] += s.short
        entry["on_duty"] += len(s.on_duty)
    for entry in teams.values():
        entry["message"] = wechat_message(entry["team"], entry["shifts"], day)
    return {
        "day": day,
        "teams": list(teams.values()),
        "on_duty": sum(len(s.on_duty) for s in shifts),
        "short_shifts": sum(1 for s in shifts if s.short > 0),
    }


def wechat_message(team: Team, shifts: list[Shift], day: dt.date) -> str:
    """A message the team leader pastes into the team's WeChat group: each shift, who is on it,
    and where people are still needed."""
    lines = [_("【%(team)s】%(day)s 值班安排") % {"team": team.name, "day": day.strftime("%m-%d")}]
    for s in shifts:
        names = "、".join(r.volunteer.name for r in s.rows if r.status in HOLDING) or _("暂无")
        line = f"{s.start:%H:%M}-{s.end:%H:%M} {s.place or '-'}: {names}"
        if s.short:
            line += _(" (还缺 %(n)s 人, 请在“我的班次”认领)") % {"n": s.short}
        lines.append(line)
    if team.requires_antigen_today:
        lines.append(_("上岗前请先上报今日抗原结果。"))
    lines.append(_("身体不适、被隔离或所住楼栋封控的队员请勿上岗, 及时告知队长。"))
    return "\n".join(lines)


# --- Hours ---------------------------------------------------------------------------------------


def _hours(value) -> Decimal:
    """A sum of hours as 2-place Decimal (SQLite sums decimals as floats)."""
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def first_day_served(volunteer: Volunteer) -> dt.date | None:
    return (
        ShiftAssignment.objects.filter(volunteer=volunteer, status=AS.DONE)
        .order_by("shift__date")
        .values_list("shift__date", flat=True)
        .first()
    )


def _done(user, start: dt.date, end: dt.date) -> QuerySet[ShiftAssignment]:
    return restrict(
        ShiftAssignment.objects.filter(status=AS.DONE, shift__date__gte=start, shift__date__lte=end),
        user,
        Action.VIEW_VOLUNTEERS,
    )


def hours_by_volunteer(*, user, start: dt.date, end: dt.date, team_id: int | None = None) -> list[dict]:
    qs = _done(user, start, end)
    if team_id:
        qs = qs.filter(shift__team_id=team_id)
    rows = (
        qs.values("volunteer_id", "volunteer__name")
        .annotate(hours=Sum("hours"), shifts=Count("id"))
        .order_by("-hours", "volunteer__name")
    )
    return [
        {"id": r["volunteer_id"], "name": r["volunteer__name"], "hours": _hours(r["hours"]), "shifts": r["shifts"]}
        for r in rows
    ]


def hours_by_team(*, user, start: dt.date, end: dt.date) -> list[dict]:
    rows = (
        _done(user, start, end)
        .values("shift__team_id", "shift__team__name")
        .annotate(hours=Sum("hours"), shifts=Count("id"), people=Count("volunteer_id", distinct=True))
        .order_by("shift__team__name")
    )
    return [
        {
            "id": r["shift__team_id"],
            "name": r["shift__team__name"],
            "hours": _hours(r["hours"]),
            "shifts": r["shifts"],
            "people": r["people"],
        }
        for r in rows
    ]


def certificate(*, volunteer: Volunteer, start: dt.date, end: dt.date) -> dict:
    """The 志愿服务证明: shifts done in the period, hours per month and per team, the total."""
    rows = list(
        ShiftAssignment.objects.filter(
            volunteer=volunteer, status=AS.DONE, shift__date__gte=start, shift__date__lte=end
        )
        .select_related("shift__team")
        .order_by("shift__starts_at")
    )
    months: dict[str, Decimal] = defaultdict(Decimal)
    teams: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        months[r.shift.date.strftime("%Y-%m")] += r.hours
        teams[r.shift.team.name] += r.hours
    return {
        "volunteer": volunteer,
        "start": start,
        "end": end,
        "rows": rows,
        "months": sorted(months.items()),
        "teams": sorted(teams.items()),
        "total": sum((r.hours for r in rows), Decimal("0.00")),
        "shifts": len(rows),
    }


# --- Figures for the bulletin and the trend ------------------------------------------------------


def day_figures(neighbourhood_id: int, day: dt.date) -> dict:
    """People who served on ``day`` (checked in), hours done, shifts short of people."""
    base = ShiftAssignment.objects.filter(neighbourhood_id=neighbourhood_id, shift__date=day)
    served = base.filter(status__in=(AS.CHECKED_IN, AS.DONE)).values("volunteer_id").distinct().count()
    hours = _hours(base.filter(status=AS.DONE).aggregate(h=Sum("hours"))["h"])
    shifts = Shift.objects.filter(neighbourhood_id=neighbourhood_id, date=day, cancelled=False).annotate(
        taken=Count("assignments", filter=Q(assignments__status__in=HOLDING))
    )
    short = sum(1 for needed, taken in shifts.values_list("needed", "taken") if taken < needed)
    return {"served": served, "hours": hours, "short": short}


def served_by_neighbourhood(neighbourhood_ids: list[int], day: dt.date) -> dict[int, int]:
    rows = (
        ShiftAssignment.objects.filter(
            neighbourhood_id__in=neighbourhood_ids, shift__date=day, status__in=(AS.CHECKED_IN, AS.DONE)
        )
        .values("neighbourhood_id")
        .annotate(n=Count("volunteer_id", distinct=True))
        .values_list("neighbourhood_id", "n")
    )
    return dict(rows)


def hours_per_day(neighbourhood_id: int, start: dt.date, end: dt.date) -> dict[dt.date, float]:
    rows = (
        ShiftAssignment.objects.filter(
            neighbourhood_id=neighbourhood_id, status=AS.DONE, shift__date__gte=start, shift__date__lte=end
        )
        .values("shift__date")
        .annotate(h=Sum("hours"))
        .values_list("shift__date", "h")
    )
    return {day: float(h or 0) for day, h in rows}


def counts_by_status(*, user) -> dict[str, int]:
    rows = restrict(Volunteer.objects.all(), user, Action.VIEW_VOLUNTEERS).values_list("status").annotate(n=Count("id"))
    got = dict(rows)
    return {s: got.get(s, 0) for s in VolunteerStatus.values}
