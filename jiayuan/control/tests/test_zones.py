"""The zone engine: levels around every day boundary, compound unit, overrides and expiry."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jiayuan.control import services, zones
from jiayuan.control.choices import CaseSource, ZoneLevel
from jiayuan.control.models import ZoneChange, ZoneOverride, ZoneStatus
from jiayuan.control.selectors import zone_levels
from jiayuan.control.tests.conftest import TODAY, at
from jiayuan.core import extensions
from jiayuan.core.models import AuditEvent

D = TODAY - dt.timedelta(days=20)  # the case's detection date in the boundary tests


def _case(resident, detected_on):
    return services.case_record(actor=None, resident=resident, detected_on=detected_on, source=CaseSource.PCR_ROUND)


@pytest.mark.parametrize(
    ("days_after", "level", "next_change"),
    [
        (0, ZoneLevel.SEALED, 7),
        (6, ZoneLevel.SEALED, 7),
        (7, ZoneLevel.CONTROLLED, 14),
        (8, ZoneLevel.CONTROLLED, 14),
        (13, ZoneLevel.CONTROLLED, 14),
        (14, ZoneLevel.PRECAUTION, None),
        (15, ZoneLevel.PRECAUTION, None),
    ],
)
def test_level_on_each_day_boundary(time_machine, building, building2, resident, days_after, level, next_change):
    time_machine.move_to(at(D), tick=False)
    _case(resident, D)
    time_machine.move_to(at(D + dt.timedelta(days=days_after)), tick=False)
    zones.zone_recompute(actor=None)
    assert zone_levels(building_ids=[building.pk, building2.pk]) == {
        building.pk: level,
        building2.pk: ZoneLevel.PRECAUTION,
    }
    status = ZoneStatus.objects.get(building=building)
    assert status.level == level
    assert status.last_positive_on == D
    assert status.next_change_on == (D + dt.timedelta(days=next_change) if next_change else None)


def test_level_steps_down_day_by_day_with_history(time_machine, building, resident):
    time_machine.move_to(at(D), tick=False)
    _case(resident, D)
    for day in range(1, 16):
        time_machine.move_to(at(D + dt.timedelta(days=day), hour=0), tick=False)
        zones.zone_recompute(actor=None)
    history = list(
        ZoneChange.objects.filter(building=building).order_by("at", "id").values_list("from_level", "to_level", "on")
    )
    assert history == [
        (ZoneLevel.PRECAUTION, ZoneLevel.SEALED, D),
        (ZoneLevel.SEALED, ZoneLevel.CONTROLLED, D + dt.timedelta(days=7)),
        (ZoneLevel.CONTROLLED, ZoneLevel.PRECAUTION, D + dt.timedelta(days=14)),
    ]
    status = ZoneStatus.objects.get(building=building)
    assert status.since == D + dt.timedelta(days=14)


def test_a_new_case_reseals_a_controlled_building(time_machine, building, household, resident, make_resident):
    time_machine.move_to(at(D), tick=False)
    _case(resident, D)
    time_machine.move_to(at(D + dt.timedelta(days=9)), tick=False)
    zones.zone_recompute(actor=None)
    assert zone_levels(building_ids=[building.pk])[building.pk] == ZoneLevel.CONTROLLED
    neighbour = make_resident(household, name="王二")
    _case(neighbour, D + dt.timedelta(days=8))  # backdated detection, recorded today
    status = ZoneStatus.objects.get(building=building)
    assert (status.level, status.since, status.next_change_on) == (
        ZoneLevel.SEALED,
        D + dt.timedelta(days=8),
        D + dt.timedelta(days=15),
    )


def test_compound_level_follows_its_most_recent_case(frozen, compound, building, building2, resident):
    _case(resident, TODAY - dt.timedelta(days=9))
    assert ZoneStatus.objects.get(compound=compound).level == ZoneLevel.CONTROLLED
    # Building unit (the default): the other building of the compound stays precaution.
    assert zone_levels(building_ids=[building2.pk]) == {building2.pk: ZoneLevel.PRECAUTION}


def test_compound_unit_gives_every_building_its_compounds_level(
    frozen, compound_unit, building, building2, building3, resident
):
    _case(resident, TODAY - dt.timedelta(days=2))
    assert zone_levels(building_ids=[building.pk, building2.pk, building3.pk]) == {
        building.pk: ZoneLevel.SEALED,
        building2.pk: ZoneLevel.SEALED,
        building3.pk: ZoneLevel.PRECAUTION,  # another compound
    }


def test_switching_the_unit_back_to_building_recomputes(
    frozen, neighbourhood, compound_unit, building, building2, resident
):
    _case(resident, TODAY - dt.timedelta(days=2))
    services.zone_settings_update(
        actor=None, neighbourhood=neighbourhood, unit="building", sealed_days=7, controlled_days=14
    )
    assert zone_levels(building_ids=[building.pk, building2.pk]) == {
        building.pk: ZoneLevel.SEALED,
        building2.pk: ZoneLevel.PRECAUTION,
    }


def test_day_counts_are_settings(frozen, neighbourhood, building, resident):
    _case(resident, TODAY - dt.timedelta(days=4))
    assert zone_levels(building_ids=[building.pk])[building.pk] == ZoneLevel.SEALED
    services.zone_settings_update(
        actor=None, neighbourhood=neighbourhood, unit="building", sealed_days=3, controlled_days=5
    )
    assert zone_levels(building_ids=[building.pk])[building.pk] == ZoneLevel.CONTROLLED


def test_zone_settings_reject_inconsistent_day_counts(frozen, neighbourhood):
    with pytest.raises(ValidationError) as exc:
        services.zone_settings_update(
            actor=None, neighbourhood=neighbourhood, unit="building", sealed_days=7, controlled_days=7
        )
    assert "controlled_days" in exc.value.message_dict


def test_recompute_publishes_zone_changed_only_when_levels_change(time_machine, compound, building, resident):
    seen = []

    def handler(**payload):
        seen.append(payload)

    extensions.subscribe("control.zone_changed", handler)
    try:
        time_machine.move_to(at(D), tick=False)
        _case(resident, D)
        assert seen[-1]["building_ids"] == [building.pk]
        assert seen[-1]["compound_ids"] == [compound.pk]
        n = len(seen)
        zones.zone_recompute(actor=None)  # nothing changed on the same day
        assert len(seen) == n
        time_machine.move_to(at(D + dt.timedelta(days=7)), tick=False)
        zones.zone_recompute(actor=None)
        assert len(seen) == n + 1
    finally:
        extensions._handlers["control.zone_changed"].remove(handler)


def test_zone_levels_uses_two_queries(frozen, building, building2, building3, resident):
    _case(resident, TODAY)
    with CaptureQueriesContext(connection) as ctx:
        levels = zone_levels(building_ids=[building.pk, building2.pk, building3.pk, 999999])
    assert len(ctx.captured_queries) <= 2
    assert levels[999999] == ZoneLevel.PRECAUTION
    assert levels[building.pk] == ZoneLevel.SEALED


def test_override_applies_until_it_expires(frozen, head, building, building2):
    services.zone_override_set(
        actor=head,
        building=building,
        level=ZoneLevel.SEALED,
        reason="楼内发现疑似病例, 先行封控",
        expires_at=at(TODAY + dt.timedelta(days=2), hour=12),
    )
    assert zone_levels(building_ids=[building.pk])[building.pk] == ZoneLevel.SEALED
    assert AuditEvent.objects.filter(action="zone.override").count() == 1
    assert ZoneChange.objects.filter(building=building, to_level=ZoneLevel.SEALED).exists()
    frozen.move_to(at(TODAY + dt.timedelta(days=2), hour=11), tick=False)
    assert zone_levels(building_ids=[building.pk])[building.pk] == ZoneLevel.SEALED
    frozen.move_to(at(TODAY + dt.timedelta(days=2), hour=12), tick=False)
    # Read time: expired, no longer applies even before the daily recompute.
    assert zone_levels(building_ids=[building.pk])[building.pk] == ZoneLevel.PRECAUTION
    result = zones.zone_recompute(actor=None)
    assert result.expired_overrides == 1
    assert ZoneOverride.objects.get().ended_at is not None
    assert AuditEvent.objects.filter(action="zone.override_expire").count() == 1


def test_compound_override_applies_to_its_buildings_and_building_override_wins(
    frozen, head, compound, building, building2
):
    services.zone_override_set(
        actor=head,
        compound=compound,
        level=ZoneLevel.CONTROLLED,
        reason="小区统一管控",
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    services.zone_override_set(
        actor=head,
        building=building,
        level=ZoneLevel.SEALED,
        reason="本楼封控",
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    assert zone_levels(building_ids=[building.pk, building2.pk]) == {
        building.pk: ZoneLevel.SEALED,
        building2.pk: ZoneLevel.CONTROLLED,
    }


def test_override_needs_a_reason_and_a_future_expiry(frozen, head, building):
    with pytest.raises(ValidationError) as exc:
        services.zone_override_set(
            actor=head,
            building=building,
            level=ZoneLevel.SEALED,
            reason=" ",
            expires_at=timezone.now() - dt.timedelta(hours=1),
        )
    assert set(exc.value.message_dict) == {"reason", "expires_at"}


def test_ending_an_override_restores_the_computed_level(frozen, head, building, resident):
    _case(resident, TODAY - dt.timedelta(days=1))
    override = services.zone_override_set(
        actor=head,
        building=building,
        level=ZoneLevel.PRECAUTION,
        reason="复核为误报",
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    assert zone_levels(building_ids=[building.pk])[building.pk] == ZoneLevel.PRECAUTION
    services.zone_override_end(actor=head, override=override)
    assert zone_levels(building_ids=[building.pk])[building.pk] == ZoneLevel.SEALED


def test_recompute_command_runs_for_all_neighbourhoods(time_machine, building, resident):
    from django.core.management import call_command

    time_machine.move_to(at(D), tick=False)
    _case(resident, D)
    time_machine.move_to(at(D + dt.timedelta(days=7)), tick=False)
    call_command("recompute_zones")
    assert ZoneStatus.objects.get(building=building).level == ZoneLevel.CONTROLLED


def test_recompute_task_is_callable(time_machine, building, resident):
    from jiayuan.control.tasks import recompute_zones_task

    time_machine.move_to(at(D), tick=False)
    _case(resident, D)
    time_machine.move_to(at(D + dt.timedelta(days=14)), tick=False)
    recompute_zones_task()
    assert ZoneStatus.objects.get(building=building).level == ZoneLevel.PRECAUTION


def test_reads_step_down_even_before_the_daily_recompute(time_machine, building, resident):
    from jiayuan.control.selectors import zone_list

    time_machine.move_to(at(D), tick=False)
    _case(resident, D)
    time_machine.move_to(at(D + dt.timedelta(days=7)), tick=False)
    # No recompute has run: the stored row still says sealed, the reads say controlled.
    assert ZoneStatus.objects.get(building=building).level == ZoneLevel.SEALED
    assert zone_levels(building_ids=[building.pk])[building.pk] == ZoneLevel.CONTROLLED
    from jiayuan.accounts.models import User

    superuser = User.objects.create_superuser("root", password="x-pass-1")
    row = zone_list(user=superuser)["compounds"][0]["buildings"][0]
    assert (row["level"], row["since"], row["next_change_on"], row["days_to_change"]) == (
        ZoneLevel.CONTROLLED,
        D + dt.timedelta(days=7),
        D + dt.timedelta(days=14),
        7,
    )
