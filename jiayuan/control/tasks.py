"""Celery tasks. Schedule ``control.recompute_zones`` daily with Celery beat, e.g.

CELERY_BEAT_SCHEDULE = {"zones": {"task": "control.recompute_zones", "schedule": crontab(hour=0, minute=5)}}
"""

from celery import shared_task


@shared_task(name="control.recompute_zones")
def recompute_zones_task() -> dict:
    from jiayuan.control.zones import zone_recompute

    result = zone_recompute(actor="celery:recompute_zones")
    return {"buildings": len(result.building_ids), "compounds": len(result.compound_ids)}
