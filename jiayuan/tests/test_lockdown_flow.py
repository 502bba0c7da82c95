"""One lockdown, across the apps: a positive pooled tube puts its members under temporary home
control; an individual retest turns one of them into a case, which seals the building; the sealed
building then gets door-to-door sampling in the next round's plan and door delivery only for its
group-buy orders; the other member's negative retest ends their home control. A positive antigen
self-report, by contrast, only keeps the household home until staff confirm it (or a PCR retest is
positive): no case, no sealing before that.

Each app tests its own side of the events; this test runs them together, with no monkeypatching.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from jiayuan.conftest import ID_NUMBERS
from jiayuan.control.choices import QuarantineReason, QuarantineStatus, ZoneLevel
from jiayuan.control.models import Case, Quarantine
from jiayuan.control.selectors import zone_levels
from jiayuan.screening import services as screening
from jiayuan.screening.codes import sampling_code
from jiayuan.screening.models import Tube
from jiayuan.supplies import services as supplies

NOON = dt.datetime(2022, 4, 10, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
def frozen():
    with time_machine.travel(NOON, tick=False):
        yield


@pytest.fixture
def people(frozen, household, household2, make_resident):
    return {
        "a": make_resident(household, name="甲一", id_number=ID_NUMBERS[0]),
        "b": make_resident(household, name="乙二", id_number=ID_NUMBERS[1]),
        "c": make_resident(household2, name="丙三", id_number=ID_NUMBERS[2]),
    }


def _active_controls(resident):
    return Quarantine.objects.filter(
        resident=resident, reason=QuarantineReason.POSITIVE_POOL, status=QuarantineStatus.ACTIVE
    )


@pytest.mark.django_db
def test_positive_pool_to_case_to_sealed_building_to_door_service(
    people, head, neighbourhood, building, building2, household, open_buy
):
    a, b, c = people["a"], people["b"], people["c"]
    today = timezone.localdate()
    assert zone_levels(building_ids=[building.pk]) == {building.pk: ZoneLevel.PRECAUTION}

    # Round 1: a and b share pooled tube P1, c is in P2.
    round1 = screening.round_create(actor=head, neighbourhood=neighbourhood, date=today, pool_size=5)
    for resident, tube in ((a, "P1"), (b, "P1"), (c, "P2")):
        screening.sample_scan(actor=head, round_=round1, tube_barcode=tube, resident_code=sampling_code(resident.pk))
    for tube in Tube.objects.filter(round=round1):
        screening.tube_close(actor=head, tube=tube)  # the lab takes sealed tubes only
    screening.tube_result_record(actor=head, round_=round1, barcode="P2", result="negative")
    screening.tube_result_record(actor=head, round_=round1, barcode="P1", result="positive")

    # The pool's members are under temporary home control; nobody is a case yet.
    assert _active_controls(a).count() == 1 and _active_controls(b).count() == 1
    assert not _active_controls(c).exists()
    assert not Case.objects.exists()
    assert zone_levels(building_ids=[building.pk])[building.pk] == ZoneLevel.PRECAUTION

    # Individual retests: a positive, b negative.
    for resident, tube in ((a, "S1"), (b, "S2")):
        screening.tube_open(actor=head, round_=round1, barcode=tube, is_retest=True)
        screening.sample_scan(
            actor=head,
            round_=round1,
            tube_barcode=tube,
            resident_code=sampling_code(resident.pk),
            open_tube=False,
            retest=True,
        )
    screening.tube_result_record(actor=head, round_=round1, barcode="S1", result="positive")
    screening.tube_result_record(actor=head, round_=round1, barcode="S2", result="negative")

    case = Case.objects.get(resident=a)
    assert case.detected_on == today
    assert not _active_controls(b).exists()
    assert Quarantine.objects.get(resident=b, reason=QuarantineReason.POSITIVE_POOL).status == QuarantineStatus.RELEASED

    # a's building is sealed; the other building is not.
    levels = zone_levels(building_ids=[building.pk, building2.pk])
    assert levels == {building.pk: ZoneLevel.SEALED, building2.pk: ZoneLevel.PRECAUTION}

    # Round 2 plan: the sealed building goes to the door-to-door team, building 2 to the station.
    round2 = screening.round_create(
        actor=head, neighbourhood=neighbourhood, date=today + dt.timedelta(days=1), pool_size=10
    )
    screening.station_create(actor=head, round_=round2, name="南门采样点", kind="fixed")
    screening.station_create(actor=head, round_=round2, name="上门一队", kind="door")
    plan = screening.plan_generate(actor=head, round_=round2)
    by_building = {s.building_id: s for s in plan.slots}
    assert by_building[building.pk].door_to_door is True
    assert by_building[building2.pk].door_to_door is False

    # Supplies: the sealed building's household cannot pick up, only have it delivered.
    item = open_buy.items.order_by("id").first()
    with pytest.raises(ValidationError) as excinfo:
        supplies.order_place(
            actor=head, group_buy=open_buy, household=household, quantities={item.pk: 1}, delivery_mode="pickup"
        )
    assert "delivery_mode" in excinfo.value.message_dict
    order, created = supplies.order_place(
        actor=head, group_buy=open_buy, household=household, quantities={item.pk: 1}, delivery_mode="door"
    )
    assert created and order.delivery_mode == "door"


@pytest.mark.django_db
def test_positive_antigen_waits_for_pcr_then_confirmed_case_seals(people, head, neighbourhood, building, household):
    """A positive antigen self-report is not a case: the reporter and their household stay home
    (抗原阳性待核酸复核) and the building keeps its zone; the case, and the sealing, come only when
    staff confirm the report (or a PCR retest is positive)."""
    a, b = people["a"], people["b"]
    today = timezone.localdate()
    report, _ = screening.antigen_report_submit(actor=None, resident=a, date=today, result="positive")

    def awaiting(resident):
        return Quarantine.objects.filter(
            resident=resident, reason=QuarantineReason.ANTIGEN_POSITIVE, status=QuarantineStatus.ACTIVE
        )

    assert awaiting(a).exists() and awaiting(b).get().via_household
    assert not Case.objects.exists()
    assert zone_levels(building_ids=[building.pk])[building.pk] == ZoneLevel.PRECAUTION
    # Not sealed, so the next round still calls the building to the station (the household is
    # kept home by its own control, not by a zone).
    round1 = screening.round_create(actor=head, neighbourhood=neighbourhood, date=today, pool_size=10)
    screening.station_create(actor=head, round_=round1, name="南门采样点", kind="fixed")
    plan = screening.plan_generate(actor=head, round_=round1)
    assert not any(s.door_to_door for s in plan.slots if s.building_id == building.pk)

    screening.antigen_report_confirm(actor=head, report=report)
    assert Case.objects.get(resident=a).detected_on == today
    assert zone_levels(building_ids=[building.pk])[building.pk] == ZoneLevel.SEALED
    assert not awaiting(a).exists() and awaiting(b).exists()  # b waits to be registered as a contact
