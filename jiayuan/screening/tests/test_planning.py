"""The call-down planner: no station slot is ever overloaded, buildings get consecutive slots,
sealed buildings and homebound residents go to door-to-door teams."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from jiayuan.screening import planning, selectors, services
from jiayuan.screening.models import PlanSlot

stations_st = st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=6)
buildings_st = st.lists(st.integers(min_value=0, max_value=400), min_size=0, max_size=40)


@settings(max_examples=300, deadline=None)
@given(stations_st, buildings_st)
def test_plan_never_overloads_a_station_slot(caps, sizes):
    stations = list(enumerate(caps, start=1))
    buildings = list(enumerate(sizes, start=100))
    plan = planning.plan(stations, buildings)
    usage = planning.verify(stations, plan)  # raises on any overload or non-consecutive slots
    assert {a.building for a in plan} == {b for b, n in buildings if n > 0}
    for sid, slots in usage.items():
        assert all(n <= dict(stations)[sid] for n in slots.values())


@settings(max_examples=200, deadline=None)
@given(stations_st, buildings_st)
def test_plan_makespan_is_near_the_lower_bound(caps, sizes):
    stations = list(enumerate(caps, start=1))
    plan = planning.plan(stations, list(enumerate(sizes)))
    total = sum(sizes)
    lower = -(-total // sum(caps)) if total else 0
    biggest = max(sizes, default=0)
    # Greedy list scheduling: within the lower bound plus the largest single building's span.
    assert planning.makespan(plan) <= lower + -(-biggest // min(caps)) + 1


def test_largest_building_first_onto_earliest_free_station():
    plan = planning.plan([(1, 10), (2, 10)], [(7, 30), (8, 20), (9, 10)])
    by_b = {a.building: a for a in plan}
    assert (by_b[7].station, by_b[7].first_slot, by_b[7].last_slot) == (1, 0, 2)
    assert (by_b[8].station, by_b[8].first_slot, by_b[8].last_slot) == (2, 0, 1)
    assert (by_b[9].station, by_b[9].first_slot) == (2, 2)
    assert planning.makespan(plan) == 3


def test_sealed_buildings_and_homebound_go_door_to_door(
    monkeypatch, round_, staff, building, building2, household, household2, make_resident
):
    for i in range(5):
        make_resident(household, name=f"一楼{i}")
    make_resident(household, name="卧床老人", tags=["bedridden"])
    for i in range(3):
        make_resident(household2, name=f"二楼{i}")
    monkeypatch.setattr(
        "jiayuan.screening.services.plans.zone_levels",
        lambda building_ids: {b: ("sealed" if b == building2.pk else "precaution") for b in building_ids},
    )
    services.station_create(actor=staff, round_=round_, name="南门采样点", samplers=1, swabs_per_hour=6)
    services.station_create(actor=staff, round_=round_, name="上门一队", kind="door", samplers=1, swabs_per_hour=3)
    result = services.plan_generate(actor=staff, round_=round_)
    assert result.warnings == []
    slots = {(s.building_id, s.door_to_door): s for s in PlanSlot.objects.filter(round=round_)}
    assert slots[(building.pk, False)].people == 5
    assert slots[(building.pk, True)].people == 1  # the bedridden resident
    assert slots[(building2.pk, True)].people == 3  # the sealed building, whole
    assert (building2.pk, False) not in slots
    messages = {m["message"] for m in selectors.plan_get(round_=round_)["buildings"]}
    assert "1号楼 07:00–08:00 到南门采样点采样, 请带好核酸码" in messages
    assert any(m.startswith("2号楼") and "全楼上门采样(3人)" in m for m in messages)


def test_plan_warns_without_stations_or_when_too_slow(round_, staff, household, make_resident):
    for i in range(30):
        make_resident(household, name=f"居民{i}")
    assert services.plan_generate(actor=staff, round_=round_).warnings == ["还没有固定采样点, 楼栋无法安排"]
    services.station_create(actor=staff, round_=round_, name="慢点", samplers=1, swabs_per_hour=3)
    warnings = services.plan_generate(actor=staff, round_=round_).warnings
    assert any("超出计划时间" in w for w in warnings)
