"""Celery tasks (scheduled in ``CELERY_BEAT_SCHEDULE``)."""

from celery import shared_task


@shared_task(name="supplies.suspend_expired_leaders")
def suspend_expired_leaders_task() -> dict:
    from jiayuan.supplies.services import leaders_suspend_expired

    return {"suspended": len(leaders_suspend_expired(actor="celery:suspend_expired_leaders"))}
