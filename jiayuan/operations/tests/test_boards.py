"""Disinfection frequency rises with the zone level (per the neighbourhood's settings); today's
board says due, done and overdue. Garbage: door to door in sealed buildings, quarantined
households at the door, positive households' bags separately; missed buildings stand out."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from jiayuan.control import services as control_services
from jiayuan.control.choices import ZoneLevel
from jiayuan.operations import selectors, services
from jiayuan.operations.choices import GarbageMode, PointKind


def _at(hour: int, minute: int = 0, days: int = 0) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@pytest.fixture
def points(head, compound, building, building2):
    sealed = services.point_create(
        actor=head, compound=compound, building=building, kind=PointKind.LOBBY, name="1号楼大堂"
    )
    calm = services.point_create(
        actor=head, compound=compound, building=building2, kind=PointKind.LIFT, name="2号楼电梯"
    )
    gate = services.point_create(actor=head, compound=compound, kind=PointKind.GATE, name="南门")
    return sealed, calm, gate


def _row(board, point):
    return next(r for r in board if r["point"].pk == point.pk)


def test_frequency_by_zone_level_with_the_default_settings(neighbourhood):
    s = services.settings_for(neighbourhood.pk)
    day = timezone.localdate()
    hours = {lvl: [t.hour for t in selectors.deadlines(s, lvl, day)] for lvl in ZoneLevel.values}
    assert hours == {"sealed": [10, 14, 18, 22], "controlled": [14, 22], "precaution": [22]}


def test_board_sealed_building_is_disinfected_more_often_and_stands_overdue(
    points, head, household, make_resident, seal
):
    sealed, calm, gate = points
    seal(make_resident(household, name="王阳"))
    with time_machine.travel(_at(10, 30)):
        board = selectors.disinfection_board(user=head)
        assert (_row(board, sealed)["level"], _row(board, sealed)["due"], _row(board, sealed)["overdue"]) == (
            "sealed",
            4,
            1,
        )
        assert (_row(board, calm)["level"], _row(board, calm)["due"], _row(board, calm)["overdue"]) == (
            "precaution",
            1,
            0,
        )
        # A compound's shared point follows its most severe building.
        assert _row(board, gate)["level"] == "sealed"
        assert board[0]["overdue"]  # overdue first
        services.disinfection_log(actor=head, point=sealed, agent="含氯消毒液")
        row = _row(selectors.disinfection_board(user=head), sealed)
        assert (row["done"], row["overdue"], row["next_due_at"].hour) == (1, 0, 14)
    with time_machine.travel(_at(22, 30)):
        row = _row(selectors.disinfection_board(user=head), sealed)
        assert row["overdue"] == 3  # 14, 18, 22 h missed
        assert _row(selectors.disinfection_board(user=head), calm)["overdue"] == 1


def test_controlled_twice_a_day_and_settings_change_the_frequency(points, head, neighbourhood, building2):
    _sealed, calm, _gate = points
    control_services.zone_override_set(
        actor=head,
        level=ZoneLevel.CONTROLLED,
        reason="管控",
        expires_at=timezone.now() + dt.timedelta(days=3),
        building=building2,
    )
    assert _row(selectors.disinfection_board(user=head), calm)["due"] == 2
    services.settings_update(actor=head, neighbourhood=neighbourhood, controlled_hours=4)
    assert _row(selectors.disinfection_board(user=head), calm)["due"] == 4
    with pytest.raises(ValidationError):
        services.settings_update(actor=head, neighbourhood=neighbourhood, controlled_hours=0)


def test_yesterdays_rounds_do_not_count_today(points, head):
    _sealed, calm, _gate = points
    with time_machine.travel(_at(20, 0, days=-1)):
        services.disinfection_log(actor=head, point=calm)
    with time_machine.travel(_at(23, 0)):
        row = _row(selectors.disinfection_board(user=head), calm)
        assert (row["done"], row["overdue"]) == (0, 1)
        assert row["last_done_at"] is not None


def test_inactive_point_leaves_the_board_and_takes_no_rounds(points, head):
    _sealed, calm, _gate = points
    services.point_set_active(actor=head, point=calm, active=False)
    assert calm.pk not in {r["point"].pk for r in selectors.disinfection_board(user=head)}
    with pytest.raises(ValidationError):
        services.disinfection_log(actor=head, point=calm)


def test_garbage_door_to_door_for_sealed_and_quarantined_positive_bags_separate(
    head, building, building2, household, household2, make_resident, seal, quarantine
):
    positive = make_resident(household, name="王阳")
    seal(positive)
    quarantine(make_resident(household2, name="李密"))
    plan = selectors.garbage_plan([building, building2])
    assert plan[building.pk]["mode"] == GarbageMode.DOOR_TO_DOOR
    assert (plan[building.pk]["door"], plan[building.pk]["separate"]) == (1, 1)
    assert plan[building2.pk]["mode"] == GarbageMode.BIN_POINT
    assert (plan[building2.pk]["door"], plan[building2.pk]["separate"]) == (1, 0)
    row = services.garbage_log(actor=head, building=building, bags=6)
    assert (row.mode, row.door_households, row.separate_households) == (GarbageMode.DOOR_TO_DOOR, 1, 1)


def test_garbage_lifts_to_bin_point_when_the_building_is_unsealed(head, building, household, make_resident):
    override = control_services.zone_override_set(
        actor=head,
        level=ZoneLevel.SEALED,
        reason="封控",
        expires_at=timezone.now() + dt.timedelta(days=3),
        building=building,
    )
    assert selectors.garbage_plan([building])[building.pk]["mode"] == GarbageMode.DOOR_TO_DOOR
    control_services.zone_override_end(actor=head, override=override)
    assert selectors.garbage_plan([building])[building.pk]["mode"] == GarbageMode.BIN_POINT


def test_missed_buildings_stand_out_after_the_deadline(head, building, building2):
    with time_machine.travel(_at(9, 0)):
        assert not any(r["missed"] for r in selectors.garbage_board(user=head))
        services.garbage_log(actor=head, building=building)
    with time_machine.travel(_at(10, 30)):
        board = selectors.garbage_board(user=head)
        assert [r["building"] for r in board if r["missed"]] == [building2]
        assert board[0]["building"] == building2  # missed first
        with pytest.raises(ValidationError):
            services.garbage_log(actor=head, building=building)  # once per building per day


def test_buildings_with_cases_are_offered_a_corridor_point(
    client, head, building, building2, household, make_resident, seal
):
    from django.urls import reverse

    seal(make_resident(household, name="王阳"))
    assert selectors.corridors_missing(user=head) == [building]
    client.force_login(head)
    assert "加入楼道点位" in client.get(reverse("operations:disinfection")).content.decode()
    client.post(reverse("operations:corridor_add", args=[building.pk]))
    assert selectors.corridors_missing(user=head) == []
    row = next(r for r in selectors.disinfection_board(user=head) if r["point"].kind == PointKind.CORRIDOR)
    assert (row["point"].building, row["level"], row["due"]) == (building, "sealed", 4)
