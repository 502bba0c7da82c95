"""The web import wizard's jobs: upload → check (preview) → commit, each off the request.

Progress goes to the cache, not the job row: the commit runs in one long transaction, and a
row updated inside it would stay invisible to the page polling it until the end. On the laptop
the cache is in-process memory shared with the job's thread; in a shared deployment it is Redis.

The file itself is read in a child process (``core.spreadsheets``), so a hostile file kills
the child, not the app. A run whose process is gone anyway (the server restarted, a worker was
killed) stops sending its heartbeat to the cache: the job is then shown as failed
(``roster_import_expire``) and can be checked again from the stored file
(``roster_import_restart``). Each run carries the job's ``attempt``; a run that is no longer
the current attempt changes nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from jiayuan.core.audit import audit_record
from jiayuan.core.tasks import run_in_background
from jiayuan.people import importer
from jiayuan.people.choices import ImportStatus
from jiayuan.people.models import RosterImport

__all__ = [
    "roster_import_commit",
    "roster_import_expire",
    "roster_import_progress",
    "roster_import_restart",
    "roster_import_start",
]

log = logging.getLogger(__name__)

RUNNING = (ImportStatus.PREVIEWING, ImportStatus.COMMITTING)
HEARTBEAT_SECONDS = 15  # a running job refreshes its heartbeat this often …
HEARTBEAT_TTL = 60  # … and is taken for gone when it has not for this long
MSG_INTERRUPTED = "导入已中断(服务器重启或处理进程退出), 没有写入任何数据。请点“重新检查”再试一次。"
MSG_INTERNAL = "导入时发生内部错误, 没有写入任何数据。请联系管理员。"


def _progress_key(job_id: int) -> str:
    return f"jiayuan:roster-import:{job_id}:progress"


def _alive_key(job_id: int, attempt: int) -> str:
    return f"jiayuan:roster-import:{job_id}:{attempt}:alive"


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _queue_grace() -> int:
    """Seconds a scheduled run may wait for a worker before it is taken for lost."""
    return int(getattr(settings, "JIAYUAN_IMPORT_QUEUE_GRACE", 1800))


def _pid_gone(worker: str) -> bool:
    """True when ``worker`` ("host:pid") ran on this machine and that process no longer exists."""
    host, _sep, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def roster_import_is_stale(job: RosterImport) -> bool:
    """A checking or committing job whose run is gone: no heartbeat, and its process dead or silent."""
    if job.status not in RUNNING or cache.get(_alive_key(job.pk, job.attempt)):
        return False
    if job.worker and _pid_gone(job.worker):
        return True
    started = job.started_at or job.created_at
    limit = HEARTBEAT_TTL if job.worker else _queue_grace()
    return timezone.now() - started > timedelta(seconds=limit)


def roster_import_expire(job: RosterImport) -> RosterImport:
    """Mark ``job`` failed when its run is gone (after a restart, say); return it as it now is."""
    if not roster_import_is_stale(job):
        return job
    with transaction.atomic():
        changed = RosterImport.objects.filter(pk=job.pk, status__in=RUNNING, attempt=job.attempt).update(
            status=ImportStatus.FAILED, error=MSG_INTERRUPTED, finished_at=timezone.now()
        )
        if changed:
            audit_record(
                actor="system",
                action="roster_import.interrupted",
                obj=job,
                object_repr=job.filename,
                changes={"status": job.status, "attempt": job.attempt, "worker": job.worker},
            )
    job.refresh_from_db(fields=["status", "error", "finished_at"])
    return job


def _schedule(job: RosterImport, commit: bool) -> None:
    """Start a new run (attempt n + 1) of ``job`` after the current transaction commits."""
    job.attempt += 1
    job.started_at = timezone.now()
    job.worker = ""
    job.save(update_fields=["status", "attempt", "started_at", "worker"])
    # The heartbeat a queued run has until a worker picks it up.
    cache.set(_alive_key(job.pk, job.attempt), "queued", timeout=_queue_grace())
    from jiayuan.people.tasks import roster_import_run_task

    run_in_background(roster_import_run, job.pk, commit, job.attempt, celery_task=roster_import_run_task)


@contextmanager
def _heartbeat(job_id: int, attempt: int):
    """Refresh the run's heartbeat in the cache every ``HEARTBEAT_SECONDS`` while the block runs."""
    key = _alive_key(job_id, attempt)
    stop = threading.Event()

    def beat() -> None:
        while True:
            cache.set(key, "running", timeout=HEARTBEAT_TTL)
            if stop.wait(HEARTBEAT_SECONDS):
                return

    thread = threading.Thread(target=beat, name=f"roster-import-{job_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        cache.delete(key)


def roster_import_progress(job: RosterImport) -> tuple[int, int]:
    """(done, total) of the running step, or (0, 0) when unknown."""
    return cache.get(_progress_key(job.pk), (0, 0))


@transaction.atomic
def roster_import_start(*, actor, neighbourhood, filename: str, data: bytes) -> RosterImport:
    """Store the upload and start checking it. Nothing reaches the roster until commit."""
    job = RosterImport.objects.create(neighbourhood=neighbourhood, created_by=actor, filename=filename[:255], data=data)
    audit_record(actor=actor, action="roster_import.upload", obj=job, object_repr=job.filename)
    _schedule(job, commit=False)
    return job


@transaction.atomic
def roster_import_restart(*, actor, job: RosterImport) -> RosterImport:
    """Check a failed (or interrupted) job's stored file again, as a new preview."""
    job = RosterImport.objects.select_for_update().get(pk=job.pk)
    if job.status in RUNNING and roster_import_is_stale(job):
        job.status = ImportStatus.FAILED
    if job.status != ImportStatus.FAILED:
        raise ValidationError("只能重新检查失败或中断的导入")
    job.status, job.error, job.report, job.finished_at = ImportStatus.PREVIEWING, "", {}, None
    job.save(update_fields=["error", "report", "finished_at"])
    audit_record(
        actor=actor,
        action="roster_import.restart",
        obj=job,
        object_repr=job.filename,
        changes={"attempt": job.attempt + 1},
    )
    _schedule(job, commit=False)
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
    _schedule(job, commit=True)
    return job


def roster_import_run(job_id: int, commit: bool, attempt: int | None = None) -> None:
    """Run the check or the commit of one job and store its report (called off the request).

    ``attempt`` is the run this call was scheduled as: when the job has been restarted since
    (or marked interrupted), this call does nothing.
    """
    job = RosterImport.objects.select_related("neighbourhood", "created_by").get(pk=job_id)
    attempt = job.attempt if attempt is None else attempt
    if job.attempt != attempt or job.status not in RUNNING:
        log.warning("roster import %s: run %s is no longer current, skipped", job_id, attempt)
        return
    RosterImport.objects.filter(pk=job.pk, attempt=attempt).update(worker=_worker_id())
    key = _progress_key(job.pk)

    def progress(done: int, total: int) -> None:
        cache.set(key, (done, total), timeout=3600)

    status, error, report = ImportStatus.FAILED, "", {}
    with _heartbeat(job.pk, attempt):
        try:
            result = importer.roster_import(
                actor=job.created_by,
                neighbourhood=job.neighbourhood,
                data=bytes(job.data),
                filename=job.filename,
                commit=commit,
                progress=progress,
            )
        except importer.ImportFileError as exc:
            error = str(exc)
        except Exception:  # the job must end in a state the page can show, never "running" forever
            log.exception("roster import %s failed", job.pk)
            error = MSG_INTERNAL
        else:
            report = result.as_dict()
            status = ImportStatus.COMMITTED if commit and result.committed else ImportStatus.PREVIEWED
    RosterImport.objects.filter(pk=job.pk, attempt=attempt).update(
        status=status, error=error, report=report, finished_at=timezone.now()
    )
    cache.delete(key)
