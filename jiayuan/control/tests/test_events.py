"""The screening → control path, through the published domain events."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from jiayuan.control.choices import (
    CaseSource,
    HouseholdMark,
    QuarantineKind,
    QuarantineReason,
    QuarantineStatus,
    ZoneLevel,
)
from jiayuan.control.models import Case, Quarantine
from jiayuan.control.selectors import household_marks, household_may_go_out, zone_levels
from jiayuan.control.tests.conftest import TODAY
from jiayuan.core import extensions
from jiayuan.core.models import AuditEvent


def test_screening_positive_opens_one_case_and_seals_the_building(frozen, head, building, resident):
    extensions.publish(
        "screening.positive", resident=resident, detected_on=TODAY, source="pcr", actor=head, ref="tube:T1", extra=1
    )
    extensions.publish(
        "screening.positive", resident=resident, detected_on=TODAY, source="antigen", actor=head, ref="a:9"
    )
    case = Case.objects.get()
    assert case.source == CaseSource.PCR_ROUND
    assert case.ref == "tube:T1"
    assert zone_levels(building_ids=[building.pk])[building.pk] == ZoneLevel.SEALED


def test_antigen_positive_source_is_antigen_report(frozen, resident):
    extensions.publish(
        "screening.positive",
        resident=resident,
        detected_on=TODAY - dt.timedelta(days=1),
        source="antigen",
        actor=None,
        ref="r1",
    )
    assert Case.objects.get().source == CaseSource.ANTIGEN


def test_pool_positive_puts_everyone_home_until_retest(frozen, head, household, resident, resident2):
    extensions.publish(
        "screening.pool_positive", residents=[resident, resident2], detected_on=TODAY, actor=head, ref="tube:P1"
    )
    extensions.publish("screening.pool_positive", residents=[resident], detected_on=TODAY, actor=head, ref="tube:P1")
    qs = Quarantine.objects.filter(reason=QuarantineReason.POSITIVE_POOL, status=QuarantineStatus.ACTIVE)
    assert sorted(qs.values_list("resident_id", flat=True)) == sorted([resident.pk, resident2.pk])
    assert household_marks([household.pk])[household.pk]["mark"] == HouseholdMark.RETEST

    extensions.publish("screening.retest_negative", resident=resident, actor=head, ref="retest:1")
    q = Quarantine.objects.get(resident=resident)
    assert q.status == QuarantineStatus.RELEASED
    assert "单管复核阴性" in q.end_reason
    assert AuditEvent.objects.filter(action="quarantine.release", object_id=str(q.pk)).exists()
    assert household.pk not in household_marks([household.pk])


def test_pool_positive_then_individual_positive_becomes_a_case(frozen, head, household, resident):
    extensions.publish("screening.pool_positive", residents=[resident], detected_on=TODAY, actor=head, ref="tube:P2")
    extensions.publish(
        "screening.positive", resident=resident, detected_on=TODAY, source="pcr", actor=head, ref="retest:2"
    )
    assert Quarantine.objects.get().status == QuarantineStatus.TRANSFERRED
    assert household_marks([household.pk])[household.pk]["mark"] == HouseholdMark.POSITIVE
    # A board of whole buildings asks by building and gets the same marks, with each building.
    by_building = household_marks(building_ids=[household.building_id])
    assert by_building == household_marks([household.pk])
    assert by_building[household.pk]["building_id"] == household.building_id
    assert household_marks(building_ids=[]) == {}


@pytest.mark.django_db(transaction=True)
def test_concurrent_positives_for_one_resident_open_one_case(building, resident):
    """Two screening events for the same resident at once (two tubes, two workers): one case."""
    if connection.vendor != "postgresql":
        pytest.skip("needs two real connections (PostgreSQL)")
    barrier = threading.Barrier(2)
    errors = []

    def worker(ref):
        try:
            barrier.wait()
            with transaction.atomic():
                extensions.publish(
                    "screening.positive",
                    resident=resident,
                    detected_on=timezone.localdate(),
                    source="pcr",
                    actor=None,
                    ref=ref,
                )
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(f"t{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Case.objects.filter(resident=resident).count() == 1


# --- A positive antigen report: temporary home control, not a case -----------------------------


def _antigen_positive(resident, actor=None):
    extensions.publish(
        "screening.antigen_positive", resident=resident, detected_on=TODAY, actor=actor, ref="抗原自测 04-20"
    )


def _active(resident):
    return Quarantine.objects.filter(resident=resident, status=QuarantineStatus.ACTIVE)


def test_antigen_positive_keeps_the_resident_and_household_home_without_a_case(
    frozen, building, household, resident, make_resident
):
    mate = make_resident(household, name="王妻")
    away = make_resident(household, name="王子", presence="away")
    _antigen_positive(resident)
    _antigen_positive(resident)  # the same event again starts nothing new

    own = _active(resident).get()
    assert own.reason == QuarantineReason.ANTIGEN_POSITIVE and own.kind == QuarantineKind.HOME
    assert own.get_reason_display() == "抗原阳性待核酸复核"
    assert not own.via_household
    # The default (Shanghai 2022) policy keeps the whole household home: the present members.
    housemate = _active(mate).get()
    assert housemate.reason == QuarantineReason.ANTIGEN_POSITIVE and housemate.via_household
    assert not Quarantine.objects.filter(resident=away).exists()
    assert AuditEvent.objects.filter(action="quarantine.start").count() == 2

    # Not a case, and the zone does not move.
    assert not Case.objects.exists()
    assert zone_levels(building_ids=[building.pk])[building.pk] == ZoneLevel.PRECAUTION
    assert household_marks([household.pk])[household.pk]["mark"] == HouseholdMark.ANTIGEN
    assert household_may_go_out(household)[0] is False


def test_negative_retest_frees_the_household_once_nobody_awaits_one(frozen, head, household, resident, make_resident):
    mate = make_resident(household, name="王妻")
    child = make_resident(household, name="王女")
    _antigen_positive(resident)
    _antigen_positive(mate)  # kept home for her husband, then a positive of her own
    assert not _active(mate).get().via_household
    assert _active(child).get().via_household

    extensions.publish("screening.retest_negative", resident=resident, actor=head, ref="S1")
    assert not _active(resident).exists()
    assert _active(mate).exists() and _active(child).exists()  # the mother still awaits her retest

    extensions.publish("screening.retest_negative", resident=mate, actor=head, ref="S2")
    assert not _active(mate).exists()
    freed = Quarantine.objects.get(resident=child)
    assert freed.status == QuarantineStatus.RELEASED and "同住人单管复核阴性" in freed.end_reason
    assert household.pk not in household_marks([household.pk])


def test_confirmed_case_keeps_housemates_home_until_they_are_contacts(
    frozen, head, building, household, resident, make_resident
):
    from jiayuan.control import services

    mate = make_resident(household, name="王妻")
    _antigen_positive(resident)
    extensions.publish(
        "screening.positive", resident=resident, detected_on=TODAY, source="antigen", actor=head, ref="confirmed"
    )
    case = Case.objects.get(resident=resident)
    assert case.source == CaseSource.ANTIGEN
    assert Quarantine.objects.get(resident=resident).status == QuarantineStatus.TRANSFERRED
    assert zone_levels(building_ids=[building.pk])[building.pk] == ZoneLevel.SEALED
    # A negative retest of someone else does not free the household of a case waiting at home.
    extensions.publish("screening.retest_negative", resident=resident, actor=head, ref="late")
    assert _active(mate).get().reason == QuarantineReason.ANTIGEN_POSITIVE

    services.contact_add(actor=head, case=case, resident=mate)
    temporary = Quarantine.objects.get(resident=mate, reason=QuarantineReason.ANTIGEN_POSITIVE)
    assert temporary.status == QuarantineStatus.TRANSFERRED and temporary.end_reason == "转为密接隔离"
    assert _active(mate).get().reason == QuarantineReason.CLOSE_CONTACT


def test_whole_household_follows_the_policy(frozen, head, neighbourhood, household, resident, make_resident):
    from jiayuan.control import services

    mate = make_resident(household, name="王妻")
    assert services.policy_for(neighbourhood.pk, QuarantineReason.POSITIVE_POOL).whole_household is False
    row = services.policy_update(
        actor=head,
        neighbourhood=neighbourhood,
        reason=QuarantineReason.ANTIGEN_POSITIVE,
        kind=QuarantineKind.HOME,
        days=2,
        whole_household=False,
    )
    assert "同住人" not in row.summary
    _antigen_positive(resident)
    assert _active(resident).exists() and not _active(mate).exists()
    # Editing another field leaves the setting as it is.
    row = services.policy_update(
        actor=head, neighbourhood=neighbourhood, reason=QuarantineReason.ANTIGEN_POSITIVE, kind="home", days=3
    )
    assert row.whole_household is False


def test_resident_with_an_open_case_is_left_alone(frozen, head, household, resident, make_resident):
    mate = make_resident(household, name="王妻")
    extensions.publish("screening.positive", resident=resident, detected_on=TODAY, source="pcr", actor=head, ref="T")
    _antigen_positive(resident)
    assert not Quarantine.objects.filter(reason=QuarantineReason.ANTIGEN_POSITIVE).exists()
    assert not _active(mate).exists()
