"""Celery application. Without ``CELERY_BROKER_URL`` tasks run eagerly (laptop install)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiayuan.settings")

app = Celery("jiayuan")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
