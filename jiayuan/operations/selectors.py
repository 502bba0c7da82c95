"""Reads of the operations app, through the acting user's scope. Zone levels, sealed buildings,
quarantined and positive households come from the control app's selectors (``zone_levels``,
``household_marks``); this app does not repeat their rules."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from django.db.models import Case, Count, Max, Q, QuerySet, When
from django.utils import timezone

from jiayuan.control.choices import HouseholdMark, ZoneLevel
from jiayuan.control.selectors import household_marks, zone_levels
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can, restrict
from jiayuan.operations.choices import OPEN_TASK_STATUSES, GarbageMode, PointKind, TaskStatus
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
from jiayuan.operations.services import settings_for
from jiayuan.places.models import Building

_SEVERITY = {ZoneLevel.SEALED: 0, ZoneLevel.CONTROLLED: 1, ZoneLevel.PRECAUTION: 2}


def board_action(user) -> str:
    """The action the boards are read through: what the user may see (VIEW_OPERATIONS), or for a
    volunteer who only logs rounds and findings, where they may log (RECORD_OPERATIONS)."""
    return Action.VIEW_OPERATIONS if can(user, Action.VIEW_OPERATIONS) else Action.RECORD_OPERATIONS


# Tasks ---------------------------------------------------------------------------------------


def led_team_ids(user) -> set[int]:
    """The volunteer teams the user leads (the volunteers app's reading)."""
    from jiayuan.volunteers.selectors import led_team_ids as led

    return led(user)


def visible_tasks(user, action: str = Action.VIEW_OPERATIONS) -> QuerySet[Task]:
    """Tasks in the user's scope for ``action``, and those assigned to a team the user leads
    (a team leader sees and fixes their team's tasks)."""
    scoped = restrict(Task.objects.all(), user, action)
    teams = led_team_ids(user)
    if not teams:
        return scoped
    return Task.objects.filter(Q(pk__in=scoped.values("pk")) | Q(team_id__in=teams, assignee="team"))


def task_list(
    *, user, status: str = "", overdue: bool | None = None, action: str = Action.VIEW_OPERATIONS
) -> QuerySet[Task]:
    qs = visible_tasks(user, action).select_related("finding", "building", "team")
    if status:
        qs = qs.filter(status=status)
    now = timezone.now()
    late = Q(status__in=OPEN_TASK_STATUSES, due_at__lt=now)
    if overdue is True:
        qs = qs.filter(late)
    elif overdue is False:
        qs = qs.exclude(late)
    # Work still to do first (the earliest deadline first), then awaiting a check, then done.
    stage = Case(When(status=TaskStatus.CHECKED, then=2), When(status=TaskStatus.FIXED, then=1), default=0)
    return qs.order_by(stage, "due_at", "id")


def finding_list(*, user, action: str = Action.VIEW_OPERATIONS) -> QuerySet[Finding]:
    return restrict(Finding.objects.all(), user, action).select_related("building", "task", "run")


def patrol_list(*, user, action: str = Action.VIEW_OPERATIONS) -> QuerySet[PatrolRun]:
    return (
        restrict(PatrolRun.objects.all(), user, action)
        .select_related("team")
        .annotate(n=Count("findings"))
        .order_by("-started_at", "-id")
    )


def case_list(*, user, action: str = Action.VIEW_OPERATIONS) -> QuerySet[RentalCase]:
    return restrict(RentalCase.objects.all(), user, action).select_related("household", "building")


# Disinfection --------------------------------------------------------------------------------


def hours_for(settings: OperationsSettings, level: str) -> int:
    return {
        ZoneLevel.SEALED: settings.sealed_hours,
        ZoneLevel.CONTROLLED: settings.controlled_hours,
    }.get(level, settings.precaution_hours)


def deadlines(settings: OperationsSettings, level: str, day: dt.date) -> list[dt.datetime]:
    """When the day's rounds of a place at ``level`` are due: every N hours of the working day
    counted from its start (at least one, at its end). With the defaults (06:00–22:00): sealed
    every 4 h (10, 14, 18, 22 h), controlled twice (14, 22 h), precaution once (22 h)."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, settings.day_start, tzinfo=tz)
    end = dt.datetime.combine(day, settings.day_end, tzinfo=tz)
    step = dt.timedelta(hours=hours_for(settings, level))
    times = []
    t = start + step
    while t <= end:
        times.append(t)
        t += step
    return times or [end]


def point_levels(points: list[DisinfectionPoint]) -> dict[int, str]:
    """A point's zone level: its building's, or the most severe of its compound's buildings."""
    compound_ids = {p.compound_id for p in points if p.building_id is None}
    buildings = list(Building.objects.filter(compound_id__in=compound_ids).values_list("id", "compound_id"))
    levels = zone_levels(building_ids={p.building_id for p in points if p.building_id} | {b for b, _c in buildings})
    by_compound: dict[int, str] = {}
    for bid, cid in buildings:
        level = levels.get(bid, ZoneLevel.PRECAUTION)
        if cid not in by_compound or _SEVERITY[level] < _SEVERITY[by_compound[cid]]:
            by_compound[cid] = level
    return {
        p.pk: levels.get(p.building_id, ZoneLevel.PRECAUTION)
        if p.building_id
        else by_compound.get(p.compound_id, ZoneLevel.PRECAUTION)
        for p in points
    }


def disinfection_board(*, user, now: dt.datetime | None = None, action: str | None = None) -> list[dict]:
    """Today's disinfection per active point: zone level, rounds due today, done today, overdue
    (due by now and not done), the next one due and the last done. A few queries in all."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    action = action or board_action(user)
    points = list(
        restrict(DisinfectionPoint.objects.filter(active=True), user, action).select_related("building", "compound")
    )
    if not points:
        return []
    levels = point_levels(points)
    tz = timezone.get_current_timezone()
    since = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    done = Counter(
        DisinfectionRound.objects.filter(point__in=points, done_at__gte=since, done_at__lt=since + dt.timedelta(days=1))
        .values_list("point_id", flat=True)
        .order_by()
    )
    last = dict(
        DisinfectionRound.objects.filter(point__in=points)
        .values("point_id")
        .annotate(last=Max("done_at"))
        .values_list("point_id", "last")
        .order_by()
    )
    settings_by_nb = {nb: settings_for(nb) for nb in {p.neighbourhood_id for p in points}}
    rows = []
    for p in points:
        times = deadlines(settings_by_nb[p.neighbourhood_id], levels[p.pk], day)
        n_done = done.get(p.pk, 0)
        passed = sum(1 for t in times if t <= now)
        rows.append(
            {
                "point": p,
                "level": levels[p.pk],
                "level_label": ZoneLevel(levels[p.pk]).label,
                "hours": hours_for(settings_by_nb[p.neighbourhood_id], levels[p.pk]),
                "due": len(times),
                "done": n_done,
                "overdue": max(0, passed - n_done),
                "next_due_at": times[n_done] if n_done < len(times) else None,
                "last_done_at": last.get(p.pk),
            }
        )
    rows.sort(key=lambda r: (-r["overdue"], _SEVERITY[r["level"]], r["point"].compound_id, r["point"].name))
    return rows


def corridors_missing(*, user, action: str = Action.MANAGE_TASKS) -> list[Building]:
    """Buildings with cases (sealed or controlled) in the user's scope that have no corridor
    point yet: their corridors are to be disinfected too."""
    buildings = list(restrict(Building.objects.all(), user, action).select_related("compound"))
    levels = zone_levels(building_ids=[b.pk for b in buildings])
    with_corridor = set(
        DisinfectionPoint.objects.filter(building__in=buildings, kind=PointKind.CORRIDOR).values_list(
            "building_id", flat=True
        )
    )
    return [
        b
        for b in buildings
        if levels.get(b.pk) in (ZoneLevel.SEALED, ZoneLevel.CONTROLLED) and b.pk not in with_corridor
    ]


# Garbage -------------------------------------------------------------------------------------


def garbage_plan(buildings: list[Building], day: dt.date | None = None) -> dict[int, dict]:
    """Per building: its zone level, the way (door to door when sealed, else the bin point), the
    households collected at the door (anyone under quarantine, home control or positive) and
    those whose bags go separately (a positive case at home or in care). Four queries."""
    ids = [b.pk for b in buildings]
    levels = zone_levels(building_ids=ids)
    marks = household_marks(building_ids=ids, today=day)
    door: Counter = Counter()
    separate: Counter = Counter()
    for entry in marks.values():
        bid = entry["building_id"]
        door[bid] += 1
        if entry["mark"] == HouseholdMark.POSITIVE:
            separate[bid] += 1
    plan = {}
    for b in buildings:
        level = levels.get(b.pk, ZoneLevel.PRECAUTION)
        plan[b.pk] = {
            "level": level,
            "mode": GarbageMode.DOOR_TO_DOOR if level == ZoneLevel.SEALED else GarbageMode.BIN_POINT,
            "door": door[b.pk],
            "separate": separate[b.pk],
        }
    return plan


def garbage_board(
    *, user, now: dt.datetime | None = None, action: str | None = None, day: dt.date | None = None
) -> list[dict]:
    """Per building in scope: today's plan, the round logged (or None), missed (none logged and
    the settings' time has passed; any earlier day without one is missed)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    day = day or today
    action = action or board_action(user)
    buildings = list(restrict(Building.objects.all(), user, action).select_related("compound"))
    if not buildings:
        return []
    plan = garbage_plan(buildings, day)
    rounds = {r.building_id: r for r in GarbageRound.objects.filter(building__in=buildings, day=day)}
    settings_by_nb = {nb: settings_for(nb) for nb in {b.neighbourhood_id for b in buildings}}
    rows = []
    tz = timezone.get_current_timezone()
    for b in buildings:
        deadline = dt.datetime.combine(day, settings_by_nb[b.neighbourhood_id].garbage_by, tzinfo=tz)
        logged = rounds.get(b.pk)
        p = plan[b.pk]
        rows.append(
            {
                "building": b,
                **p,
                "level_label": ZoneLevel(p["level"]).label,
                "mode_label": GarbageMode(p["mode"]).label,
                "round": logged,
                "deadline": deadline,
                "missed": logged is None and now >= deadline,
            }
        )
    rows.sort(
        key=lambda r: (not r["missed"], r["round"] is not None, r["building"].compound_id, r["building"].sort_key)
    )
    return rows


# Figures for the bulletin, the trend and the home page ---------------------------------------


def _day_range(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    return start, start + dt.timedelta(days=1)


def day_figures(neighbourhood_id: int, day: dt.date) -> dict[str, int]:
    start, end = _day_range(day)
    return {
        "disinfections": DisinfectionRound.objects.filter(
            neighbourhood_id=neighbourhood_id, done_at__gte=start, done_at__lt=end
        ).count(),
        "garbage": GarbageRound.objects.filter(neighbourhood_id=neighbourhood_id, day=day).count(),
        "findings": Finding.objects.filter(
            neighbourhood_id=neighbourhood_id, created_at__gte=start, created_at__lt=end
        ).count(),
        "fixed": Task.objects.filter(neighbourhood_id=neighbourhood_id, fixed_at__gte=start, fixed_at__lt=end).count(),
    }


def garbage_missed_buildings(neighbourhood_id: int, day: dt.date) -> list[str]:
    """Names of the neighbourhood's buildings without a garbage round on ``day``."""
    done = GarbageRound.objects.filter(neighbourhood_id=neighbourhood_id, day=day).values("building_id")
    return list(
        Building.objects.filter(neighbourhood_id=neighbourhood_id)
        .exclude(id__in=done)
        .order_by("compound_id", "sort_key")
        .values_list("name", flat=True)
    )


def _per_day(qs, field: str, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    lo, _x = _day_range(start)
    _y, hi = _day_range(end)
    counts: dict[dt.date, int] = defaultdict(int)
    for at in qs.filter(**{f"{field}__gte": lo, f"{field}__lt": hi}).values_list(field, flat=True):
        counts[timezone.localdate(at)] += 1
    return dict(counts)


def disinfections_per_day(neighbourhood_id: int, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    return _per_day(DisinfectionRound.objects.filter(neighbourhood_id=neighbourhood_id), "done_at", start, end)


def findings_per_day(neighbourhood_id: int, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    return _per_day(Finding.objects.filter(neighbourhood_id=neighbourhood_id), "created_at", start, end)
