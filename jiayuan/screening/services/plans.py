"""The call-down plan: which building comes to which station when."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q

# Imported into this module so tests can patch ``jiayuan.screening.services.plans.zone_levels``.
from jiayuan.control.selectors import zone_levels
from jiayuan.core.audit import audit_record
from jiayuan.people.choices import Presence
from jiayuan.people.models import Resident, ResidentTag
from jiayuan.screening import planning
from jiayuan.screening.choices import (
    DOOR_TO_DOOR_TAGS,
    StationKind,
)
from jiayuan.screening.models import (
    Exemption,
    PlanSlot,
    Round,
    Station,
)

# --- Call-down plan -------------------------------------------------------------------------------


def _add_minutes(start: dt.time, minutes: int) -> dt.time:
    base = dt.datetime.combine(dt.date(2000, 1, 1), start)
    return (base + dt.timedelta(minutes=minutes)).time()


def expected_by_building(round_: Round) -> tuple[dict[int, int], dict[int, int]]:
    """Per building: (people to call to a station, homebound people for a door-to-door team)."""
    residents = Resident.objects.filter(
        neighbourhood_id=round_.neighbourhood_id, presence=Presence.PRESENT, household__isnull=False
    )
    if not round_.whole_neighbourhood:
        residents = residents.filter(household__building_id__in=round_.buildings.values("id"))
    residents = residents.filter(~Exists(Exemption.objects.filter(round=round_, resident=OuterRef("pk"))))
    homebound = Exists(ResidentTag.objects.filter(resident=OuterRef("pk"), tag__in=DOOR_TO_DOOR_TAGS))
    rows = (
        residents.annotate(hb=homebound)
        .values("household__building_id")
        .annotate(total=Count("id"), home=Count("id", filter=Q(hb=True)))
        .order_by()
    )
    walk, door = {}, {}
    for row in rows:
        walk[row["household__building_id"]] = row["total"] - row["home"]
        door[row["household__building_id"]] = row["home"]
    return walk, door


@dataclass
class PlanResult:
    slots: list[PlanSlot]
    warnings: list[str]


@transaction.atomic
def plan_generate(*, actor, round_: Round) -> PlanResult:
    """(Re)build the call-down plan: fixed stations get the walking residents of every building
    that is not sealed, largest building first onto the station that frees earliest; door-to-door
    teams get sealed buildings whole and the homebound (卧床/残障/独居老人) of the others."""
    stations = list(round_.stations.all())
    fixed = [s for s in stations if s.kind == StationKind.FIXED]
    door = [s for s in stations if s.kind == StationKind.DOOR]
    warnings: list[str] = []
    walk, homebound = expected_by_building(round_)
    building_ids = sorted(set(walk) | set(homebound))
    levels = zone_levels(building_ids=building_ids) if building_ids else {}
    sealed = {b for b in building_ids if levels.get(b) == "sealed"}
    station_work = [(b, walk.get(b, 0)) for b in building_ids if b not in sealed]
    door_work = [(b, walk.get(b, 0) + homebound.get(b, 0)) for b in sealed]
    door_work += [(b, homebound.get(b, 0)) for b in building_ids if b not in sealed]

    def caps(group: list[Station]) -> list[tuple[int, int]]:
        return [(s.pk, planning.capacity_per_slot(s.samplers, s.swabs_per_hour, round_.slot_minutes)) for s in group]

    fixed_caps, door_caps = caps(fixed), caps(door)
    fixed_plan = planning.plan(fixed_caps, station_work)
    door_plan = planning.plan(door_caps, door_work)
    planning.verify(fixed_caps, fixed_plan)
    planning.verify(door_caps, door_plan)
    if any(n for _b, n in station_work) and not fixed:
        warnings.append("还没有固定采样点, 楼栋无法安排")
    if any(n for _b, n in door_work) and not door:
        warnings.append("有封控楼栋或行动不便居民, 但还没有上门采样队")

    PlanSlot.objects.filter(round=round_).delete()
    rows = []
    for assignments, is_door in ((fixed_plan, False), (door_plan, True)):
        for a in assignments:
            note = ""
            if is_door:
                note = "封控楼, 全楼上门" if a.building in sealed else "卧床/残障/独居老人上门"
            rows.append(
                PlanSlot(
                    round=round_,
                    neighbourhood_id=round_.neighbourhood_id,
                    station_id=a.station,
                    building_id=a.building,
                    first_slot=a.first_slot,
                    last_slot=a.last_slot,
                    start=_add_minutes(round_.start_time, a.first_slot * round_.slot_minutes),
                    end=_add_minutes(round_.start_time, (a.last_slot + 1) * round_.slot_minutes),
                    people=a.people,
                    door_to_door=is_door,
                    note=note,
                )
            )
    PlanSlot.objects.bulk_create(rows)
    span = max(planning.makespan(fixed_plan), planning.makespan(door_plan))
    finish = _add_minutes(round_.start_time, span * round_.slot_minutes)
    window = (
        dt.datetime.combine(round_.date, round_.end_time) - dt.datetime.combine(round_.date, round_.start_time)
    ).total_seconds() / 60
    if span * round_.slot_minutes > window:
        warnings.append(f"按现有采样力量需到 {finish:%H:%M} 才能完成, 超出计划时间, 请增加采样人员或采样点")
    audit_record(
        actor=actor,
        action="screening.plan_generate",
        obj=round_,
        changes={"slots": len(rows), "sealed": sorted(sealed), "finish": finish.strftime("%H:%M")},
    )
    return PlanResult(slots=rows, warnings=warnings)
