"""Running long work (imports, later bulletins) off the request.

With a Celery broker configured, ``run_in_background`` sends a Celery task. The laptop install
has no broker: a daemon thread in the app process runs the job so the page can poll its
progress. Tests run jobs inline (``JIAYUAN_TASK_RUNNER=inline``). In every case the job is
started only after the current transaction commits, so it sees the rows that scheduled it.

A job that runs in the app process must not be able to abort it: work that can (reading an
uploaded spreadsheet with a native reader) runs in a child process (``core.spreadsheets``).
A job whose process is gone all the same (a restart) is the job's own to detect: see the
heartbeat in ``people.import_jobs``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from celery import shared_task
from django.conf import settings
from django.db import close_old_connections, connection, transaction


def _run_closing_connection(func: Callable[..., None], args: tuple) -> None:
    try:
        func(*args)
    finally:
        connection.close()


def run_in_background(func: Callable[..., None], *args, celery_task=None) -> None:
    """Run ``func(*args)`` after commit: as ``celery_task.delay(*args)`` when a broker is set."""

    def start() -> None:
        if settings.CELERY_BROKER_URL and celery_task is not None:
            celery_task.delay(*args)
        elif settings.JIAYUAN_TASK_RUNNER == "inline":
            func(*args)
        else:
            close_old_connections()
            threading.Thread(target=_run_closing_connection, args=(func, args), daemon=True).start()

    transaction.on_commit(start)


@shared_task(name="core.purge")
def purge_task() -> dict:
    """The daily retention purge (``CELERY_BEAT_SCHEDULE["purge"]``)."""
    from jiayuan.core.retention import purge

    return purge(actor="celery:purge")
