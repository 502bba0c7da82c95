"""The web import wizard's jobs: upload → check (preview) → commit, each off the request.

Progress goes to the cache, not the job row: the commit runs in one long transaction, and a
row updated inside it would stay invisible to the page polling it until the end. On the laptop
the cache is in-process memory shared with the job's thread; in a shared deployment it is Redis.
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from jiayuan.core.audit import audit_record
from jiayuan.core.tasks import run_in_background
from jiayuan.people import importer
from jiayuan.people.choices import ImportStatus
from jiayuan.people.models import RosterImport

__all__ = ["roster_import_commit", "roster_import_progress", "roster_import_start"]

log = logging.getLogger(__name__)


def _progress_key(job_id: int) -> str:
    return f"jiayuan:roster-import:{job_id}:progress"


def roster_import_progress(job: RosterImport) -> tuple[int, int]:
    """(done, total) of the running step, or (0, 0) when unknown."""
    return cache.get(_progress_key(job.pk), (0, 0))


@transaction.atomic
def roster_import_start(*, actor, neighbourhood, filename: str, data: bytes) -> RosterImport:
    """Store the upload and start checking it. Nothing reaches the roster until commit."""
    job = RosterImport.objects.create(neighbourhood=neighbourhood, created_by=actor, filename=filename[:255], data=data)
    audit_record(actor=actor, action="roster_import.upload", obj=job, object_repr=job.filename)
    from jiayuan.people.tasks import roster_import_run_task

    run_in_background(roster_import_run, job.pk, False, celery_task=roster_import_run_task)
    return job


@transaction.atomic
def roster_import_commit(*, actor, job: RosterImport) -> RosterImport:
    """Commit a checked import that had no errors. The file is checked again while committing."""
    job = RosterImport.objects.select_for_update().get(pk=job.pk)
    if job.status != ImportStatus.PREVIEWED:
        raise ValidationError("只能导入已检查完成的文件")
    if job.report.get("errors"):
        raise ValidationError("文件还有错误, 请修改后重新上传")
    job.status = ImportStatus.COMMITTING
    job.save(update_fields=["status"])
    from jiayuan.people.tasks import roster_import_run_task

    run_in_background(roster_import_run, job.pk, True, celery_task=roster_import_run_task)
    return job


def roster_import_run(job_id: int, commit: bool) -> None:
    """Run the check or the commit of one job and store its report (called off the request)."""
    job = RosterImport.objects.select_related("neighbourhood", "created_by").get(pk=job_id)
    key = _progress_key(job.pk)

    def progress(done: int, total: int) -> None:
        cache.set(key, (done, total), timeout=3600)

    try:
        report = importer.roster_import(
            actor=job.created_by,
            neighbourhood=job.neighbourhood,
            data=bytes(job.data),
            filename=job.filename,
            commit=commit,
            progress=progress,
        )
    except importer.ImportFileError as exc:
        job.status, job.error, job.report = ImportStatus.FAILED, str(exc), {}
    except Exception:  # the job must end in a state the page can show, never "running" forever
        log.exception("roster import %s failed", job.pk)
        job.status, job.error = ImportStatus.FAILED, "导入时发生内部错误, 没有写入任何数据。请联系管理员。"
    else:
        job.report = report.as_dict()
        if commit:
            job.status = ImportStatus.COMMITTED if report.committed else ImportStatus.PREVIEWED
        else:
            job.status = ImportStatus.PREVIEWED
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "report", "finished_at"])
    cache.delete(key)
