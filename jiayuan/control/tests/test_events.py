"""The screening → control path, through the published domain events."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from jiayuan.control.choices import CaseSource, HouseholdMark, QuarantineReason, QuarantineStatus, ZoneLevel
from jiayuan.control.models import Case, Quarantine
from jiayuan.control.selectors import household_marks, zone_levels
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
