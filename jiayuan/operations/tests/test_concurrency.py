"""On PostgreSQL, with real concurrent connections: a building's garbage round is stored once
however many people tap 已清运 at once; a fixed task is either checked or sent back, never both."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from jiayuan.core.permissions import Role
from jiayuan.operations import services
from jiayuan.operations.choices import TaskStatus
from jiayuan.operations.models import GarbageRound, Task

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(n: int, fn) -> list[str]:
    barrier = threading.Barrier(n)
    outcomes: list[str] = []

    def run(i):
        try:
            barrier.wait()
            outcomes.append(fn(i))
        except ValidationError:
            outcomes.append("refused")
        except services.TaskError as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_concurrent_garbage_logs_store_one_round(head, building):
    if connection.vendor != "postgresql":
        pytest.skip("needs real concurrent connections (PostgreSQL)")
    outcomes = _race(6, lambda i: services.garbage_log(actor=head, building=building, bags=i) and "ok")
    assert sorted(outcomes) == ["ok"] + ["refused"] * 5
    assert GarbageRound.objects.filter(building=building).count() == 1


def test_a_fixed_task_is_checked_or_sent_back_never_both(head, make_user, neighbourhood, owners_and_property):
    if connection.vendor != "postgresql":
        pytest.skip("needs real concurrent connections (PostgreSQL)")
    owners, prop = owners_and_property
    task = services.finding_report(actor=owners, neighbourhood=neighbourhood, kind="hazard", place="南门")
    services.task_set_status(actor=head, task=task, status=TaskStatus.ASSIGNED)
    services.task_set_status(actor=prop, task=task, status=TaskStatus.FIXED)

    def act(i):
        if i % 2:
            services.task_set_status(actor=owners, task=task, status=TaskStatus.CHECKED)
            return "checked"
        services.task_set_status(actor=head, task=task, status=TaskStatus.ASSIGNED, note="不合格")
        return "returned"

    outcomes = _race(2, act)
    assert outcomes.count("invalid_transition") == 1
    final = Task.objects.get(pk=task.pk)
    won = next(o for o in outcomes if o != "invalid_transition")
    assert final.status == (TaskStatus.CHECKED if won == "checked" else TaskStatus.ASSIGNED)


@pytest.fixture
def owners_and_property(make_user, neighbourhood):
    return make_user(Role.OWNERS_COMMITTEE, neighbourhood), make_user(Role.PROPERTY_STAFF, neighbourhood)
