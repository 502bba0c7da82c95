"""``jiayuan purge``: data past its retention period is deleted, newer data is kept, a dry run
deletes nothing, and each rule that removed something is audited. (The screening app's rule for
antigen photos is tested in ``screening/tests/test_photo_retention.py``.)"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from jiayuan.core.models import AuditEvent, IdempotencyRecord
from jiayuan.core.retention import delete_in_batches, purge

pytestmark = pytest.mark.django_db


def _record(key: str, age_days: float) -> IdempotencyRecord:
    record = IdempotencyRecord.objects.create(scope="t", key=key, status=201, body={})
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - dt.timedelta(days=age_days))
    return record


def test_old_idempotency_records_go_and_recent_ones_stay(settings):
    settings.JIAYUAN_IDEMPOTENCY_DAYS = 7
    old = [_record(f"old-{i}", 8) for i in range(3)]
    recent = _record("recent", 6)
    assert purge(actor="test", dry_run=True)["core.idempotency_records"] == 3
    assert IdempotencyRecord.objects.count() == 4
    assert purge(actor="test")["core.idempotency_records"] == 3
    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not IdempotencyRecord.objects.filter(pk__in=[r.pk for r in old]).exists()
    event = AuditEvent.objects.get(action="retention.purge", object_id="core.idempotency_records")
    assert event.changes["removed"] == 3 and event.actor_label == "test"
    # Nothing left to remove: nothing more is audited.
    assert purge(actor="test")["core.idempotency_records"] == 0
    assert AuditEvent.objects.filter(action="retention.purge").count() == 1


def test_delete_in_batches_removes_everything_across_batches():
    for i in range(7):
        _record(f"k{i}", 30)
    _record("keep", 0)
    cutoff = timezone.now() - dt.timedelta(days=1)
    assert delete_in_batches(IdempotencyRecord.objects.filter(created_at__lt=cutoff), batch=3) == 7
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["keep"]


def test_purge_command_prints_each_rule(settings):
    settings.JIAYUAN_IDEMPOTENCY_DAYS = 7
    _record("old", 9)
    out = io.StringIO()
    call_command("purge", "--dry-run", stdout=out)
    assert "core.idempotency_records: would remove 1" in out.getvalue()
    assert IdempotencyRecord.objects.count() == 1
    out = io.StringIO()
    call_command("purge", stdout=out)
    assert "core.idempotency_records: removed 1" in out.getvalue()
    assert IdempotencyRecord.objects.count() == 0


def test_a_rule_failing_halfway_still_audits_what_it_removed(settings, monkeypatch):
    """The batches a rule committed before it failed are deleted for good: the audit says so."""
    from jiayuan.core import retention

    settings.JIAYUAN_IDEMPOTENCY_DAYS = 7
    for i in range(5):
        _record(f"old-{i}", 8)

    def failing(now, dry_run, progress):
        cutoff = now - dt.timedelta(days=7)
        qs = IdempotencyRecord.objects.filter(created_at__lt=cutoff)
        retention.delete_in_batches(qs.filter(key__in=["old-0", "old-1"]), progress=progress, batch=1)
        raise OSError("disk went away")

    monkeypatch.setattr(retention, "_rules", lambda: [("core.idempotency_records", failing)])
    with pytest.raises(OSError):
        purge(actor="test")
    assert IdempotencyRecord.objects.count() == 3
    event = AuditEvent.objects.get(action="retention.purge")
    assert event.changes["removed"] == 2 and event.changes["complete"] is False
