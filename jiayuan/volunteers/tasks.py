"""Celery tasks (scheduled in ``CELERY_BEAT_SCHEDULE``; the lead adds the entry)."""

from celery import shared_task


@shared_task(name="volunteers.mark_no_shows")
def mark_no_shows_task() -> dict:
    from jiayuan.volunteers.services import no_shows_mark

    return {"no_shows": no_shows_mark(actor="celery:mark_no_shows")}
