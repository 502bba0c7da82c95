"""Two guards scan the same pass at the same moment: the quota is never exceeded (PostgreSQL row
lock on the pass); two retries of one scan at once are stored once."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.utils import timezone

from jiayuan.core.permissions import Action
from jiayuan.gates import selectors, services
from jiayuan.gates.models import GatePassage

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(n, fn):
    barrier = threading.Barrier(n)
    results, errors = [], []

    def run(i):
        try:
            barrier.wait()
            results.append(fn(i))
        except ValidationError as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    return results


def test_two_guards_never_go_over_the_quota(gate, guard, make_user, compound, household, resident, head):
    if connection.vendor != "postgresql":
        pytest.skip("needs real concurrent connections (PostgreSQL)")
    from jiayuan.core.permissions import Role

    guards = [guard, make_user(Role.GATE_GUARD, compound)]
    today = timezone.localdate()
    p = services.pass_issue(actor=head, household=household, valid_from=today, valid_to=today, quota=3, period_days=1)

    def scan(i):
        user = guards[i % 2]
        g = selectors.gate_get(user=user, gate_id=gate.pk, action=Action.PASS_GATE)
        return services.passage_record(actor=user, gate=g, direction="out", resident_code=p.code).allowed

    results = _race(8, scan)
    assert results.count(True) == 3 and results.count(False) == 5
    p.refresh_from_db()
    assert p.period_uses == 3
    assert GatePassage.objects.filter(allowed=True).count() == 3
    assert set(GatePassage.objects.filter(allowed=False).values_list("reason", flat=True)) == {"pass_quota"}


def test_simultaneous_retries_are_stored_once(gate, guard, resident):
    if connection.vendor != "postgresql":
        pytest.skip("needs real concurrent connections (PostgreSQL)")
    from jiayuan.screening.codes import sampling_code

    def scan(_i):
        g = selectors.gate_get(user=guard, gate_id=gate.pk, action=Action.PASS_GATE)
        outcome = services.passage_record(
            actor=guard, gate=g, direction="in", resident_code=sampling_code(resident.pk), idempotency_key="same"
        )
        return outcome.passage.pk

    ids = _race(4, scan)
    assert len(set(ids)) == 1
    assert GatePassage.objects.count() == 1
