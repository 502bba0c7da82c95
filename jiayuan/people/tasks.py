"""Celery tasks (used when a broker is configured; see jiayuan.core.tasks)."""

from celery import shared_task


@shared_task(name="people.roster_import_run", acks_late=True)
def roster_import_run_task(job_id: int, commit: bool, attempt: int | None = None) -> None:
    from jiayuan.people.import_jobs import roster_import_run

    roster_import_run(job_id, commit, attempt)
