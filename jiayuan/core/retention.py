"""Deleting data once it is no longer needed (``jiayuan purge``, daily).

Personal data is kept only as long as its purpose needs it. Each rule deletes one kind of data
older than its retention period and says how much it removed; the apps register theirs with
``core.extensions.retention_rule`` (the screening app: antigen photos). The core rule here
removes idempotency records, which only answer retries and would otherwise grow by one row per
scan. Every rule that removed something leaves one audit event with the count and the cut-off.
Deletes run in batches, so a city-sized table is never locked in one long statement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from jiayuan.core import extensions
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


def _idempotency_records(now: dt.datetime, dry_run: bool, progress: Callable[[int], None]) -> int:
    cutoff = now - dt.timedelta(days=settings.JIAYUAN_IDEMPOTENCY_DAYS)
    qs = IdempotencyRecord.objects.filter(created_at__lt=cutoff)
    return delete_in_batches(qs, dry_run=dry_run, progress=progress)


def _rules() -> list[tuple[str, Callable]]:
    return [("core.idempotency_records", _idempotency_records), *extensions.retention_rules()]


def purge(*, actor, now: dt.datetime | None = None, dry_run: bool = False) -> dict[str, int]:
    """Run every retention rule; ``{rule: rows or files removed}`` (would be removed, when
    ``dry_run``). Audited per rule that removed something — also when a rule fails halfway: what
    its committed batches removed is recorded (``"complete": false``) before the error goes on."""
    now = now or timezone.now()
    removed: dict[str, int] = {}
    for name, rule in _rules():
        committed = [0]

        def progress(n: int, committed=committed) -> None:
            committed[0] += n

        complete = False
        try:
            removed[name] = rule(now, dry_run, progress)
            complete = True
        finally:
            count = removed.get(name, committed[0])
            if count and not dry_run:
                audit_record(
                    actor=actor,
                    action="retention.purge",
                    object_type="retention",
                    object_id=name,
                    object_repr=name,
                    changes={"removed": count, "at": now.isoformat(), "complete": complete},
                )
    return removed
