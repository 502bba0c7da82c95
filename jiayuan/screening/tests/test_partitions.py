"""Samples and antigen reports partitioned by day on PostgreSQL (ADR 0015): a scan — the one-statement
fast path, the batch, the ORM path — lands in the partition of its round's date; a resident is still
swabbed once per round; ``jiayuan purge`` drops the partitions past their period together with the
retests that pointed into them, and keeps newer rows. On SQLite the same purge deletes rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from jiayuan.accounts.services import api_token_create
from jiayuan.core import partitions
from jiayuan.core.models import AuditEvent
from jiayuan.core.retention import purge
from jiayuan.screening import services
from jiayuan.screening.models import AntigenReport, Retest, Sample, Tube

from .conftest import TODAY, code

pytestmark = pytest.mark.django_db

SAMPLES = partitions.SPECS["screening_sample"]
ANTIGEN = partitions.SPECS["screening_antigenreport"]
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are PostgreSQL's")


def _where(table: str, pk: int) -> str:
    with connection.cursor() as cur:
        cur.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cur.fetchone()[0]


@pytest.mark.postgres
@postgres_only
def test_scans_land_in_the_partition_of_their_rounds_date(client, round_, sampler, residents):
    partitions.ensure_days(SAMPLES, [TODAY])  # the frozen round is in the past: give it its day
    _t, key = api_token_create(actor=None, user=sampler)
    url = f"/api/v1/rounds/{round_.pk}/samples"
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    b1, b2 = residents["b1"], residents["b2"]
    one = client.post(url, {"tube": "T1", "resident_code": code(b1[0])}, content_type="application/json", **auth)
    assert one.status_code == 201, one.content
    batch = client.post(
        f"{url}/batch",
        {"items": [{"tube": "T2", "resident_code": code(r)} for r in b2]},
        content_type="application/json",
        **auth,
    )
    assert batch.status_code == 200, batch.content
    samples = list(Sample.objects.filter(round=round_))
    assert len(samples) == 4
    assert {s.day for s in samples} == {round_.date}
    assert {_where("screening_sample", s.pk) for s in samples} == {SAMPLES.partition(TODAY)}


@pytest.mark.postgres
@postgres_only
def test_a_round_without_its_partition_goes_to_the_default_one_until_the_daily_job(
    neighbourhood, staff, sampler, residents
):
    day = timezone.localdate() + dt.timedelta(days=60)
    far = services.round_create(actor=staff, neighbourhood=neighbourhood, date=day, pool_size=5)
    outcome = services.sample_scan(actor=sampler, round_=far, tube_barcode="F1", resident_code=code(residents["b1"][0]))
    assert _where("screening_sample", outcome.sample.pk) == SAMPLES.default
    partitions.ensure_days(SAMPLES, [day])
    assert _where("screening_sample", outcome.sample.pk) == SAMPLES.partition(day)
    assert Sample.objects.get(pk=outcome.sample.pk).resident_id == residents["b1"][0].pk


def test_a_resident_is_still_swabbed_once_per_round(round_, sampler, residents):
    r = residents["b1"][0]
    services.sample_scan(actor=sampler, round_=round_, tube_barcode="T1", resident_code=code(r))
    with pytest.raises(services.ScanRejected) as exc:
        services.sample_scan(actor=sampler, round_=round_, tube_barcode="T2", resident_code=code(r))
    assert exc.value.code == "duplicate"
    assert Sample.objects.filter(round=round_, resident=r).count() == 1


def _sample(round_, resident, barcode) -> Sample:
    tube = Tube.objects.create(round=round_, neighbourhood_id=round_.neighbourhood_id, barcode=barcode, pool_size=5)
    return Sample.objects.create(round=round_, tube=tube, neighbourhood_id=round_.neighbourhood_id, resident=resident)


def test_purge_removes_samples_past_their_period_with_their_retests(settings, neighbourhood, staff, residents):
    """PostgreSQL drops the old day's partition (audited with its name and rows); SQLite deletes
    the rows. Either way the retests that pointed at the old samples go (or let go) with them."""
    settings.JIAYUAN_SAMPLE_DAYS = 30
    today = timezone.localdate()
    old_day = today - dt.timedelta(days=40)
    if connection.vendor == "postgresql":
        partitions.ensure_days(SAMPLES, [old_day])
    old_round = services.round_create(actor=staff, neighbourhood=neighbourhood, date=old_day, pool_size=5)
    new_round = services.round_create(actor=staff, neighbourhood=neighbourhood, date=today, pool_size=5)
    a, b = residents["b1"][0], residents["b1"][1]
    old = [_sample(old_round, a, "O1"), _sample(old_round, b, "O2")]
    new = _sample(new_round, a, "N1")
    pooled = Retest.objects.create(
        round=old_round, neighbourhood=neighbourhood, resident=a, sample=old[0], source_tube=old[0].tube
    )
    retested = Retest.objects.create(
        round=new_round,
        neighbourhood=neighbourhood,
        resident=b,
        sample=new,
        source_tube=new.tube,
        retest_sample=old[1],
    )
    assert purge(actor="test", dry_run=True)["screening.samples"] == 2
    assert purge(actor="test")["screening.samples"] == 2
    assert list(Sample.objects.values_list("pk", flat=True)) == [new.pk]
    assert not Retest.objects.filter(pk=pooled.pk).exists()
    retested.refresh_from_db()
    assert retested.retest_sample_id is None
    event = AuditEvent.objects.get(action="retention.purge", object_id="screening.samples")
    assert event.changes["removed"] == 2
    if connection.vendor == "postgresql":
        assert event.changes["dropped"]["partitions"] == [SAMPLES.partition(old_day)]
        assert old_day not in partitions.partitions(SAMPLES)


def test_purge_removes_antigen_reports_past_their_period(settings, household, make_resident):
    settings.JIAYUAN_ANTIGEN_REPORT_DAYS = 3
    today = timezone.localdate()
    old_day = today - dt.timedelta(days=5)
    if connection.vendor == "postgresql":
        partitions.ensure_days(ANTIGEN, [old_day])
    a, b = make_resident(household, name="甲"), make_resident(household, name="乙")
    old, _ = services.antigen_report_submit(actor=None, resident=a, date=old_day, result="positive")
    kept, _ = services.antigen_report_submit(actor=None, resident=b, date=today, result="negative")
    assert Retest.objects.filter(antigen_report=old).exists()
    if connection.vendor == "postgresql":
        assert _where("screening_antigenreport", old.pk) == ANTIGEN.partition(old_day)
    assert purge(actor="test")["screening.antigen_reports"] == 1
    assert list(AntigenReport.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not Retest.objects.filter(antigen_report_id=old.pk).exists()
    # Nothing past the period any more: nothing more is removed or audited.
    assert purge(actor="test")["screening.antigen_reports"] == 0
    assert AuditEvent.objects.filter(action="retention.purge", object_id="screening.antigen_reports").count() == 1
