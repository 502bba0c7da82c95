"""Day partitions of the append-only tables (ADR 0015, ``core.partitions``): on PostgreSQL rows
land in their day's partition (or the default one), the daily job creates the coming days'
partitions and moves stragglers out of the default one, ``jiayuan purge`` drops whole partitions
past their period and audits what it dropped, and the audit trigger still refuses UPDATE and
DELETE. SQLite keeps plain tables and the purge deletes rows there. (Samples and antigen reports:
``screening/tests/test_partitions.py``.)"""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from jiayuan.core import partitions
from jiayuan.core.audit import audit_record
from jiayuan.core.idempotency import run_idempotent
from jiayuan.core.models import AuditEvent, IdempotencyRecord
from jiayuan.core.retention import purge

pytestmark = pytest.mark.django_db

AUDIT = partitions.SPECS["core_auditevent"]
IDEM = partitions.SPECS["core_idempotencyrecord"]
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are PostgreSQL's")


def _where(table: str, pk: int) -> str:
    """The partition that holds row ``pk``."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cur.fetchone()[0]


def _audit_at(when: dt.datetime, label: str = "x") -> AuditEvent:
    with time_machine.travel(when, tick=False):
        return audit_record(actor="test", action="retention.purge", object_id=label)


def _record_on(day: dt.date, key: str) -> int:
    """An idempotency record inserted on ``day`` (its hidden ``day`` column), as PostgreSQL's
    DEFAULT would have filled it that day."""
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO core_idempotencyrecord (scope, key, status, body, created_at, day) "
            "VALUES ('t', %s, 201, '{}', %s, %s) RETURNING id",
            [key, dt.datetime.combine(day, dt.time(12), tzinfo=timezone.get_current_timezone()), day],
        )
        return cur.fetchone()[0]


@pytest.mark.postgres
@postgres_only
def test_the_tables_are_partitioned_with_a_default_partition_and_the_coming_days():
    today = timezone.localdate()
    for table, spec in partitions.SPECS.items():
        assert partitions.is_partitioned(table), table
        days = partitions.partitions(spec)
        # Created at migrate time: a fresh database has today's and the coming days' partitions.
        assert today in days and today + dt.timedelta(days=partitions.ahead()) in days, table
        with connection.cursor() as cur:
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", [spec.default])
            assert cur.fetchone()[0], table


@pytest.mark.postgres
@postgres_only
def test_audit_rows_land_in_their_days_partition_and_stragglers_in_the_default_one():
    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    # Just after local midnight: today's partition, not yesterday's (days are cut in TIME_ZONE).
    at_midnight = _audit_at(dt.datetime.combine(today, dt.time(0, 0, 1), tzinfo=tz))
    assert _where("core_auditevent", at_midnight.pk) == AUDIT.partition(today)
    late = _audit_at(dt.datetime.combine(today + dt.timedelta(days=2), dt.time(23, 59), tzinfo=tz))
    assert _where("core_auditevent", late.pk) == AUDIT.partition(today + dt.timedelta(days=2))
    far = today + dt.timedelta(days=100)
    straggler = _audit_at(dt.datetime.combine(far, dt.time(9), tzinfo=tz), "far")
    assert _where("core_auditevent", straggler.pk) == AUDIT.default


@pytest.mark.postgres
@postgres_only
def test_the_daily_job_creates_the_coming_days_and_moves_stragglers_out_of_the_default_partition():
    tz = timezone.get_current_timezone()
    later = timezone.localdate() + dt.timedelta(days=40)
    straggler = _audit_at(dt.datetime.combine(later + dt.timedelta(days=1), dt.time(9), tzinfo=tz), "straggler")
    stays = _audit_at(dt.datetime.combine(later + dt.timedelta(days=90), dt.time(9), tzinfo=tz), "stays")
    assert _where("core_auditevent", straggler.pk) == AUDIT.default
    # The daily job, run 40 days from now: yesterday, today and the coming days, every table.
    purge(actor="test", now=dt.datetime.combine(later, dt.time(4), tzinfo=tz))
    for spec in partitions.SPECS.values():
        days = partitions.partitions(spec)
        assert all(later + dt.timedelta(days=i) in days for i in range(-1, partitions.ahead() + 1)), spec.table
    # The row that had landed in the default partition moved into its day's new partition,
    # same id, same content; the row of a day still without a partition stayed in the default.
    assert _where("core_auditevent", straggler.pk) == AUDIT.partition(later + dt.timedelta(days=1))
    assert AuditEvent.objects.get(pk=straggler.pk).object_id == "straggler"
    assert _where("core_auditevent", stays.pk) == AUDIT.default
    # Idempotent: running it again creates nothing.
    assert partitions.ensure_ahead(later) == {t: [] for t in partitions.SPECS}


@pytest.mark.postgres
@postgres_only
def test_the_audit_trigger_still_refuses_update_and_delete_on_the_partitioned_table():
    event = audit_record(actor="test", action="retention.purge")
    partition = _where("core_auditevent", event.pk)
    for sql in (
        "UPDATE core_auditevent SET action = 'forged' WHERE id = %s",
        "DELETE FROM core_auditevent WHERE id = %s",
        # Straight at the partition too: the trigger is on every partition.
        f"UPDATE {partition} SET action = 'forged' WHERE id = %s",  # noqa: S608
        f"DELETE FROM {partition} WHERE id = %s",  # noqa: S608
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "retention.purge"


@pytest.mark.postgres
@postgres_only
def test_purge_drops_the_idempotency_partitions_past_their_period_and_audits_them(settings):
    settings.JIAYUAN_IDEMPOTENCY_DAYS = 7
    today = timezone.localdate()
    old_days = [today - dt.timedelta(days=n) for n in (10, 9)]
    partitions.ensure_days(IDEM, old_days)
    old = [_record_on(d, f"old-{i}-{d}") for d in old_days for i in range(3)]
    assert {_where("core_idempotencyrecord", pk) for pk in old} == {IDEM.partition(d) for d in old_days}
    recent = _record_on(today - dt.timedelta(days=2), "recent")
    fresh = IdempotencyRecord.objects.create(scope="t", key="fresh", status=201, body={})
    assert _where("core_idempotencyrecord", fresh.pk) == IDEM.partition(today)  # DEFAULT: today

    assert purge(actor="test", dry_run=True)["core.idempotency_records"] == 6
    assert set(partitions.partitions(IDEM)) >= set(old_days)
    assert purge(actor="test")["core.idempotency_records"] == 6
    assert not set(partitions.partitions(IDEM)) & set(old_days)
    assert set(IdempotencyRecord.objects.values_list("pk", flat=True)) == {recent, fresh.pk}
    event = AuditEvent.objects.get(action="retention.purge", object_id="core.idempotency_records")
    assert event.changes["removed"] == 6
    assert event.changes["dropped"] == {
        "partitions": [IDEM.partition(d) for d in old_days],
        "from": old_days[0].isoformat(),
        "to": old_days[1].isoformat(),
        "rows": 6,
    }


@pytest.mark.postgres
@postgres_only
def test_audit_events_leave_only_with_their_whole_partition(settings):
    settings.JIAYUAN_AUDIT_DAYS = 30
    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    old_day = today - dt.timedelta(days=40)
    partitions.ensure_days(AUDIT, [old_day])
    old = [_audit_at(dt.datetime.combine(old_day, dt.time(h), tzinfo=tz), "old").pk for h in (0, 12, 23)]
    keep = _audit_at(dt.datetime.combine(today - dt.timedelta(days=29), dt.time(12), tzinfo=tz), "keep").pk
    assert purge(actor="test")["core.audit_events"] == 3
    assert not AuditEvent.objects.filter(pk__in=old).exists()
    assert AuditEvent.objects.filter(pk=keep).exists()
    event = AuditEvent.objects.get(action="retention.purge", object_id="core.audit_events")
    assert event.changes["dropped"]["partitions"] == [AUDIT.partition(old_day)]
    assert event.changes["dropped"]["rows"] == 3


@pytest.mark.postgres
@postgres_only
def test_the_idempotency_key_is_still_unique_per_scope_within_a_day():
    calls = []

    def fn():
        calls.append(1)
        return 201, {"n": len(calls)}

    assert run_idempotent(scope="s", key="k", fn=fn) == (201, {"n": 1})
    assert run_idempotent(scope="s", key="k", fn=fn) == (201, {"n": 1})
    assert calls == [1]
    # The database itself refuses a second row for the key the same day (scope, key, day).
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO core_idempotencyrecord (scope, key, status, body, created_at) "
            "VALUES ('s', 'k', 201, '{}', now()) ON CONFLICT DO NOTHING RETURNING id"
        )
        assert cur.fetchone() is None


def test_sqlite_keeps_plain_tables_and_purge_deletes_rows(settings):
    """On SQLite nothing is partitioned, the daily job creates nothing, and the purge deletes old
    idempotency records row by row (on PostgreSQL, those of a partition still current too)."""
    settings.JIAYUAN_IDEMPOTENCY_DAYS = 7
    if connection.vendor == "sqlite":
        assert not any(partitions.is_partitioned(t) for t in partitions.SPECS)
        assert partitions.ensure_ahead() == {}
    old = IdempotencyRecord.objects.create(scope="t", key="old", status=201, body={})
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=8))
    IdempotencyRecord.objects.create(scope="t", key="new", status=201, body={})
    assert purge(actor="test")["core.idempotency_records"] == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_the_partitions_command_lists_and_creates_them():
    out = io.StringIO()
    call_command("partitions", "--create", stdout=out)
    if connection.vendor != "postgresql":
        assert "plain tables" in out.getvalue()
        return
    for table, spec in partitions.SPECS.items():
        assert f"{table}: created " in out.getvalue()
        assert f"rows in {spec.default}" in out.getvalue()
    assert partitions.ensure_ahead() == {t: [] for t in partitions.SPECS}  # all there now


def test_gate_passages_past_their_period_go_and_newer_ones_stay(settings, compound):
    """Gate passages (insert-only, keyed by day): their day's partition on PostgreSQL, dropped
    whole past ``JIAYUAN_GATE_PASSAGE_DAYS``; rows deleted on SQLite."""
    from jiayuan.gates import services as gates
    from jiayuan.gates.models import GatePassage

    settings.JIAYUAN_GATE_PASSAGE_DAYS = 30
    spec = partitions.SPECS["gates_gatepassage"]
    today = timezone.localdate()
    old_day = today - dt.timedelta(days=31)
    if connection.vendor == "postgresql":
        partitions.ensure_days(spec, [old_day])
    gate = gates.gate_create(actor=None, compound=compound, name="东门")

    def passage(day):
        return GatePassage.objects.create(
            neighbourhood_id=compound.neighbourhood_id,
            compound=compound,
            gate=gate,
            day=day,
            at=dt.datetime.combine(day, dt.time(9), tzinfo=timezone.get_current_timezone()),
            direction="in",
            subject="resident",
            allowed=True,
        )

    old, new = passage(old_day), passage(today)
    if connection.vendor == "postgresql":
        assert _where("gates_gatepassage", old.pk) == spec.partition(old_day)
        assert _where("gates_gatepassage", new.pk) == spec.partition(today)
    assert purge(actor="test")["gates.passages"] == 1
    assert list(GatePassage.objects.values_list("pk", flat=True)) == [new.pk]
    if connection.vendor == "postgresql":
        event = AuditEvent.objects.get(action="retention.purge", object_id="gates.passages")
        assert event.changes["dropped"]["partitions"] == [spec.partition(old_day)]
