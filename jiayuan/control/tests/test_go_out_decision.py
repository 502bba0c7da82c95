"""``household_go_out_decision`` and ``households_may_go_out``: the same answers as
``household_may_go_out`` for every reason, the zone read once (or not at all when the caller has
it), and the bulk form's query count independent of the number of households (gates, issue 11)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from jiayuan.control import services as control_services
from jiayuan.control.choices import QuarantineReason, ZoneLevel
from jiayuan.control.models import Case, Quarantine, ZoneOverride, ZoneStatus
from jiayuan.control.selectors import (
    GO_OUT_CASE_AT_HOME,
    GO_OUT_SEALED,
    GO_OUT_STAY_HOME,
    go_out_message,
    household_go_out_decision,
    household_may_go_out,
    household_zone_and_go_out,
    households_may_go_out,
    zone_levels,
)
from jiayuan.places import services as places_services


def seal(building):
    ZoneOverride.objects.create(
        neighbourhood_id=building.neighbourhood_id,
        building=building,
        level="sealed",
        reason="测试封控",
        expires_at=timezone.now() + dt.timedelta(days=7),
    )


def quarantine(household, kind="home", start_on=None, days=7, followup_kind="", status="active"):
    start_on = start_on or timezone.localdate()
    return Quarantine.objects.create(
        neighbourhood_id=household.neighbourhood_id,
        building_id=household.building_id,
        household=household,
        kind=kind,
        followup_kind=followup_kind,
        followup_days=7 if followup_kind else 0,
        reason="close_contact",
        start_on=start_on,
        days=days,
        planned_end=start_on + dt.timedelta(days=days + (7 if followup_kind else 0)),
        status=status,
    )


def case(household, resident, status="at_home"):
    today = timezone.localdate()
    return Case.objects.create(
        neighbourhood_id=household.neighbourhood_id,
        building_id=household.building_id,
        compound_id=household.building.compound_id,
        household=household,
        resident=resident,
        detected_on=today,
        source="pcr_round",
        status=status,
        status_on=today,
    )


def same_answers(household, expected):
    """The new selectors, the old one and the bulk form agree, with the right reason."""
    reason = household_go_out_decision(household)
    assert reason == expected
    level = zone_levels(building_ids=[household.building_id])[household.building_id]
    assert household_zone_and_go_out(household) == (level, reason)
    assert household_may_go_out(household) == (reason is None, go_out_message(reason))
    assert households_may_go_out([household.pk]) == {household.pk: household_may_go_out(household)}


def test_an_ordinary_household_may_go_out(household):
    same_answers(household, None)
    assert household_may_go_out(household) == (True, "")


def test_sealed_building(household, household2, building):
    seal(building)
    same_answers(household, GO_OUT_SEALED)
    assert "封控区" in household_may_go_out(household)[1]
    same_answers(household2, None)  # the other building is not sealed


def test_case_at_home_and_not_once_transferred(household, make_resident):
    c = case(household, make_resident(household, name="阳阳"))
    same_answers(household, GO_OUT_CASE_AT_HOME)
    assert "阳性" in household_may_go_out(household)[1]
    c.status = "hospital"
    c.save()
    same_answers(household, None)


def test_a_case_at_home_wins_over_a_quarantine(household, make_resident):
    quarantine(household)
    case(household, make_resident(household, name="阳阳"))
    same_answers(household, GO_OUT_CASE_AT_HOME)


@pytest.mark.parametrize("kind", ["home", "home_monitoring"])
def test_home_quarantine_or_monitoring(household, kind):
    quarantine(household, kind=kind)
    same_answers(household, GO_OUT_STAY_HOME)
    assert "居家隔离" in household_may_go_out(household)[1]


def test_temporary_home_control(household, make_resident):
    resident = make_resident(household, name="抗阳")
    control_services.temporary_home_control(actor=None, residents=[resident], reason=QuarantineReason.ANTIGEN_POSITIVE)
    same_answers(household, GO_OUT_STAY_HOME)


def test_centralised_future_or_released_quarantine_does_not_keep_home(household):
    quarantine(household, kind="centralised")
    quarantine(household, start_on=timezone.localdate() + dt.timedelta(days=2))
    quarantine(household, status="released")
    same_answers(household, None)


def test_the_stage_of_the_day_decides(household):
    """Centralised for 7 days then home monitoring: free to go out (the person is away), then
    kept home once the follow-up stage has begun; and home then centralised the other way round."""
    today = timezone.localdate()
    quarantine(household, kind="centralised", followup_kind="home_monitoring", start_on=today - dt.timedelta(days=3))
    same_answers(household, None)
    quarantine(household, kind="centralised", followup_kind="home_monitoring", start_on=today - dt.timedelta(days=7))
    same_answers(household, GO_OUT_STAY_HOME)


def test_home_stage_over_then_centralised(household):
    today = timezone.localdate()
    quarantine(household, kind="home", followup_kind="centralised", start_on=today - dt.timedelta(days=7))
    same_answers(household, None)


def test_a_known_zone_level_is_not_read_again(household, building, django_assert_num_queries):
    quarantine(household)
    with django_assert_num_queries(1):
        assert household_go_out_decision(household, zone_level=ZoneLevel.CONTROLLED) == GO_OUT_STAY_HOME
    with django_assert_num_queries(0):
        assert household_go_out_decision(household, zone_level=ZoneLevel.SEALED) == GO_OUT_SEALED
    with django_assert_num_queries(3):  # the zone (2), cases and quarantines (1)
        assert household_go_out_decision(household) == GO_OUT_STAY_HOME


def test_bulk_query_count_does_not_grow(household, household2, building, make_resident, django_assert_num_queries):
    with django_assert_num_queries(4):
        one = households_may_go_out([household.pk])
    assert one == {household.pk: (True, "")}
    building3 = places_services.building_create(actor=None, compound=building.compound, number="3", units=1, floors=6)
    many = [
        places_services.household_create(actor=None, building=b, unit="1", room=f"{n}01")
        for n, b in enumerate([building, building, building3, building3], start=1)
    ]
    seal(building3)
    quarantine(household, kind="home_monitoring")
    case(household2, make_resident(household2, name="阳阳"))
    quarantine(many[0], kind="centralised")
    ids = [household.pk, household2.pk, *(h.pk for h in many)]
    with django_assert_num_queries(4):
        answers = households_may_go_out([*ids, 999999])
    assert set(answers) == set(ids)  # an unknown id is left out
    for h in [household, household2, *many]:
        assert answers[h.pk] == household_may_go_out(h)
    assert [answers[i][0] for i in ids] == [False, False, True, True, False, False]
    assert households_may_go_out([]) == {}


def override(level, building=None, compound=None, hours=24):
    target = building or compound
    return ZoneOverride.objects.create(
        neighbourhood_id=target.neighbourhood_id,
        building=building,
        compound=compound,
        level=level,
        reason="测试",
        expires_at=timezone.now() + dt.timedelta(hours=hours),
    )


def test_one_query_form_reads_the_zone_as_zone_levels_does(household, building, django_assert_num_queries):
    """Stored level, compound override over it, the building's own override over that, the latest
    override winning, an expired one ignored; one query each time."""

    def check(expected_level, expected_reason=None):
        with django_assert_num_queries(1):
            answer = household_zone_and_go_out(household)
        assert answer == (expected_level, expected_reason)
        assert zone_levels(building_ids=[building.pk])[building.pk] == expected_level
        assert household_go_out_decision(household) == expected_reason

    check(ZoneLevel.PRECAUTION)
    ZoneStatus.objects.create(
        neighbourhood_id=building.neighbourhood_id,
        building=building,
        level=ZoneLevel.CONTROLLED,
        computed_at=timezone.now(),
    )
    check(ZoneLevel.CONTROLLED)
    override(ZoneLevel.SEALED, compound=building.compound)
    check(ZoneLevel.SEALED, GO_OUT_SEALED)
    override(ZoneLevel.PRECAUTION, building=building)
    check(ZoneLevel.PRECAUTION)
    override(ZoneLevel.CONTROLLED, building=building)  # the latest of the building's own wins
    check(ZoneLevel.CONTROLLED)
    ZoneOverride.objects.filter(building=building).update(expires_at=timezone.now() - dt.timedelta(hours=1))
    check(ZoneLevel.SEALED, GO_OUT_SEALED)  # the compound's again
    ZoneOverride.objects.update(expires_at=timezone.now() - dt.timedelta(hours=1))
    quarantine(household)
    check(ZoneLevel.CONTROLLED, GO_OUT_STAY_HOME)


def test_one_query_form_makes_a_stale_stored_level_fresh(household, building):
    """A stored level whose next change has come (the daily recompute not run yet) is re-derived
    from its last positive, as ``zone_levels`` does."""
    today = timezone.localdate()
    ZoneStatus.objects.create(
        neighbourhood_id=building.neighbourhood_id,
        building=building,
        level=ZoneLevel.SEALED,
        next_change_on=today - dt.timedelta(days=1),
        last_positive_on=today - dt.timedelta(days=30),
        computed_at=timezone.now(),
    )
    level = zone_levels(building_ids=[building.pk])[building.pk]
    assert level == ZoneLevel.PRECAUTION
    assert household_zone_and_go_out(household) == (level, None)
