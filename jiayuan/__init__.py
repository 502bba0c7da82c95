"""Jiayuan (家园): the shared record a residential community runs on through a lockdown."""

from .celery import app as celery_app

__all__ = ["celery_app"]
