"""Celery tasks (scheduled in ``CELERY_BEAT_SCHEDULE``)."""

from celery import shared_task


@shared_task(name="bulletin.compose_all")
def compose_all_task() -> dict:
    """Every neighbourhood's bulletin draft for today, at the set time (the editor then publishes)."""
    from jiayuan.bulletin.services import compose_all

    return {"composed": compose_all(actor="celery:bulletin_compose")}
