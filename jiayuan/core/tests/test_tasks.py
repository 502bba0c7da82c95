"""Background jobs start only after commit, in the runner the deployment has."""

from __future__ import annotations

import threading

import pytest
from django.db import transaction

from jiayuan.core.tasks import run_in_background


@pytest.mark.django_db(transaction=True)
def test_thread_runner_starts_after_commit(settings):
    settings.JIAYUAN_TASK_RUNNER = "thread"
    settings.CELERY_BROKER_URL = ""
    ran = threading.Event()
    seen = {}

    def job(value):
        seen["thread"] = threading.current_thread() is not threading.main_thread()
        seen["value"] = value
        ran.set()

    with transaction.atomic():
        run_in_background(job, 42)
        assert not ran.is_set()  # not before commit
    assert ran.wait(5)
    assert seen == {"thread": True, "value": 42}


@pytest.mark.django_db(transaction=True)
def test_nothing_runs_when_the_transaction_rolls_back(settings):
    settings.JIAYUAN_TASK_RUNNER = "inline"
    calls = []
    with pytest.raises(RuntimeError), transaction.atomic():
        run_in_background(calls.append, 1)
        raise RuntimeError("rolled back")
    assert calls == []


@pytest.mark.django_db(transaction=True)
def test_with_a_broker_the_celery_task_is_sent(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/15"
    sent = []

    class FakeTask:
        @staticmethod
        def delay(*args):
            sent.append(args)

    with transaction.atomic():
        run_in_background(lambda *a: pytest.fail("must not run in-process"), 7, True, celery_task=FakeTask)
    assert sent == [(7, True)]
