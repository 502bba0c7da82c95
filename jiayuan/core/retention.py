"""Deleting data once it is no longer needed (``jiayuan purge``, daily).

Personal data is kept only as long as its purpose needs it. Each rule deletes one kind of data
older than its retention period and says how much it removed; the apps register theirs with
``core.extensions.retention_rule`` (the screening app: antigen photos). The rules here cover the
append-only, high-volume tables (ADR 0015): idempotency records (``JIAYUAN_IDEMPOTENCY_DAYS``;
they only answer retries), and, when their period is set (0 keeps them), samples
(``JIAYUAN_SAMPLE_DAYS``), antigen reports (``JIAYUAN_ANTIGEN_REPORT_DAYS``), gate passages
(``JIAYUAN_GATE_PASSAGE_DAYS``) and audit events
(``JIAYUAN_AUDIT_DAYS``). On PostgreSQL these tables are partitioned by day: a rule drops the
whole partitions past the period (``core.partitions.drop_before``) and then deletes, row by row,
only what is left past it (rows that had landed in the default partition); audit events leave
only with their partition. On SQLite the rows are deleted. Every rule that removed something
leaves one audit event with the count and the cut-off, and the partitions and days it dropped.
Deletes run in batches, so a city-sized table is never locked in one long statement.

The purge is the daily job: on PostgreSQL it first creates the partitions of the coming days
(``core.partitions.ensure_ahead``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from jiayuan.core import extensions, partitions
from jiayuan.core.audit import audit_record
from jiayuan.core.models import IdempotencyRecord

__all__ = ["delete_in_batches", "purge"]

BATCH = 5000


def delete_in_batches(
    queryset: QuerySet, *, dry_run: bool = False, batch: int = BATCH, progress: Callable[[int], None] | None = None
) -> int:
    """Delete ``queryset``'s rows ``batch`` at a time (each batch its own transaction); the count.
    ``progress(n)`` is told of each committed batch."""
    if dry_run:
        return queryset.count()
    total = 0
    while True:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return total
        with transaction.atomic():
            deleted = queryset.model._default_manager.filter(pk__in=ids).delete()[1].get(queryset.model._meta.label, 0)
        total += deleted
        if progress is not None:
            progress(deleted)


class _Progress:
    """What a rule has removed so far (``progress(n)`` per committed batch), and what it wants the
    audit event to say besides (``progress.note(key=value)``)."""

    def __init__(self) -> None:
        self.committed = 0
        self.notes: dict = {}

    def __call__(self, n: int) -> None:
        self.committed += n

    def note(self, **notes) -> None:
        self.notes.update(notes)


def _days(name: str, default: int = 0) -> int:
    return int(getattr(settings, name, default) or 0)


def partition_rule(table: str, days: Callable[[], int], rows: Callable | None = None) -> Callable:
    """A retention rule for a day-partitioned table: past ``days()`` days (0: keep), drop its
    whole partitions (PostgreSQL), then delete ``rows(cutoff, cutoff_day)`` in batches (what is
    left: the default partition's rows on PostgreSQL, every old row on SQLite; ``rows(cutoff,
    cutoff_day, dry_run)``); ``rows=None``
    deletes no row (audit events)."""

    def rule(now: dt.datetime, dry_run: bool, progress: Callable[[int], None]) -> int:
        keep = days()
        if keep <= 0:
            return 0
        cutoff = now - dt.timedelta(days=keep)
        cutoff_day = timezone.localdate(cutoff)
        removed = 0
        dropping: list[str] = []
        if partitions.is_partitioned(table):
            dropped = partitions.drop_before(partitions.SPECS[table], cutoff_day, dry_run=dry_run)
            dropping = dropped.partitions
            if dropped.partitions:
                removed += dropped.rows
                if not dry_run:
                    progress(dropped.rows)
                if hasattr(progress, "note"):
                    progress.note(
                        dropped={
                            "partitions": dropped.partitions,
                            "from": dropped.first.isoformat(),
                            "to": dropped.last.isoformat(),
                            "rows": dropped.rows,
                        }
                    )
        if rows is not None:
            qs = rows(cutoff, cutoff_day, dry_run)
            if dry_run and dropping:  # what a real run leaves after dropping those partitions
                qs = qs.alias(_partition=RawSQL("tableoid::regclass::text", [])).exclude(_partition__in=dropping)
            removed += delete_in_batches(qs, dry_run=dry_run, progress=progress)
        return removed

    return rule


def _samples(cutoff: dt.datetime, cutoff_day: dt.date, dry_run: bool) -> QuerySet:
    from jiayuan.screening.models import Sample

    return Sample.objects.filter(day__lt=cutoff_day)


def _antigen_reports(cutoff: dt.datetime, cutoff_day: dt.date, dry_run: bool) -> QuerySet:
    from jiayuan.screening.models import AntigenReport

    qs = AntigenReport.objects.filter(date__lt=cutoff_day)
    if not dry_run:  # the photos go with their rows
        for name in qs.exclude(photo="").values_list("photo", flat=True):
            transaction.on_commit(lambda name=name: default_storage.delete(name))
    return qs


def _gate_passages(cutoff: dt.datetime, cutoff_day: dt.date, dry_run: bool) -> QuerySet:
    from jiayuan.gates.models import GatePassage

    return GatePassage.objects.filter(day__lt=cutoff_day)


def _idempotency_records(cutoff: dt.datetime, cutoff_day: dt.date, dry_run: bool) -> QuerySet:
    return IdempotencyRecord.objects.filter(created_at__lt=cutoff)


def _rules() -> list[tuple[str, Callable]]:
    return [
        (
            "core.idempotency_records",
            partition_rule(
                "core_idempotencyrecord", lambda: _days("JIAYUAN_IDEMPOTENCY_DAYS", 7), _idempotency_records
            ),
        ),
        ("screening.samples", partition_rule("screening_sample", lambda: _days("JIAYUAN_SAMPLE_DAYS"), _samples)),
        (
            "screening.antigen_reports",
            partition_rule("screening_antigenreport", lambda: _days("JIAYUAN_ANTIGEN_REPORT_DAYS"), _antigen_reports),
        ),
        (
            "gates.passages",
            partition_rule("gates_gatepassage", lambda: _days("JIAYUAN_GATE_PASSAGE_DAYS"), _gate_passages),
        ),
        ("core.audit_events", partition_rule("core_auditevent", lambda: _days("JIAYUAN_AUDIT_DAYS"))),
        *extensions.retention_rules(),
    ]


def purge(*, actor, now: dt.datetime | None = None, dry_run: bool = False) -> dict[str, int]:
    """Run every retention rule; ``{rule: rows or files removed}`` (would be removed, when
    ``dry_run``). Audited per rule that removed something — also when a rule fails halfway: what
    its committed batches removed is recorded (``"complete": false``) before the error goes on.
    On PostgreSQL the partitions of the coming days are created first (not on a dry run)."""
    now = now or timezone.now()
    if not dry_run:
        partitions.ensure_ahead(timezone.localdate(now))
    removed: dict[str, int] = {}
    for name, rule in _rules():
        progress = _Progress()
        complete = False
        try:
            removed[name] = rule(now, dry_run, progress)
            complete = True
        finally:
            count = removed.get(name, progress.committed)
            if count and not dry_run:
                audit_record(
                    actor=actor,
                    action="retention.purge",
                    object_type="retention",
                    object_id=name,
                    object_repr=name,
                    changes={"removed": count, "at": now.isoformat(), "complete": complete, **progress.notes},
                )
    return removed
