"""Antigen photos are health data: deleted after ``JIAYUAN_ANTIGEN_PHOTO_DAYS`` by ``jiayuan purge``
(the result stays), and a photo replaced by a new report the same day does not linger on disk."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from jiayuan.core.models import AuditEvent
from jiayuan.core.retention import purge
from jiayuan.screening import services as screening

pytestmark = pytest.mark.django_db


def _photo() -> SimpleUploadedFile:
    return SimpleUploadedFile("p.jpg", b"\xff\xd8\xff fake jpeg", content_type="image/jpeg")


def test_old_antigen_photos_are_deleted_and_their_results_kept(
    settings, household, make_resident, django_capture_on_commit_callbacks
):
    settings.JIAYUAN_ANTIGEN_PHOTO_DAYS = 14
    today = timezone.localdate()
    a, b = make_resident(household, name="甲"), make_resident(household, name="乙")
    old, _ = screening.antigen_report_submit(
        actor=None, resident=a, date=today - dt.timedelta(days=5), result="negative", photo=_photo()
    )
    new, _ = screening.antigen_report_submit(actor=None, resident=b, date=today, result="positive", photo=_photo())
    old_file = Path(old.photo.path)
    assert old_file.exists()
    # Fifteen days later the first photo is past 14 days, the second is not.
    later = timezone.now() + dt.timedelta(days=10)
    assert purge(actor="test", now=later, dry_run=True)["screening.antigen_photos"] == 1
    assert old_file.exists()
    with django_capture_on_commit_callbacks(execute=True):  # the files go when the rows commit
        removed = purge(actor="test", now=later)
    assert removed["screening.antigen_photos"] == 1
    old.refresh_from_db()
    new.refresh_from_db()
    assert not old.photo and old.result == "negative"
    assert new.photo and Path(new.photo.path).exists()
    assert not old_file.exists()
    assert AuditEvent.objects.filter(action="retention.purge", object_id="screening.antigen_photos").count() == 1


def test_a_replaced_photo_does_not_linger_on_disk(household, make_resident, django_capture_on_commit_callbacks):
    r = make_resident(household, name="丙")
    today = timezone.localdate()
    first, _ = screening.antigen_report_submit(actor=None, resident=r, date=today, result="invalid", photo=_photo())
    first_file = Path(first.photo.path)
    with django_capture_on_commit_callbacks(execute=True):
        second, created = screening.antigen_report_submit(
            actor=None, resident=r, date=today, result="negative", photo=_photo()
        )
    assert not created and second.pk == first.pk
    assert Path(second.photo.path).exists() and second.photo.path != str(first_file)
    assert not first_file.exists()


def test_a_report_that_fails_leaves_no_photo_file_behind(household, make_resident, settings):
    """A positive report whose consequence fails rolls back: the photo written for it goes too."""
    from jiayuan.core import extensions

    r = make_resident(household, name="丁")

    def broken(**payload):
        raise RuntimeError("control service down")

    extensions.subscribe("screening.antigen_positive", broken)
    try:
        with pytest.raises(RuntimeError):
            screening.antigen_report_submit(
                actor=None, resident=r, date=timezone.localdate(), result="positive", photo=_photo()
            )
    finally:
        extensions._handlers["screening.antigen_positive"].remove(broken)
    assert not any(Path(settings.MEDIA_ROOT).rglob("*.jpg"))
