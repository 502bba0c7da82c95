"""Concurrent claims of the last places on a shift never over-fill it, and one person racing
onto two overlapping shifts gets only one (PostgreSQL: the shift row, then the volunteer row,
is locked with SELECT … FOR UPDATE)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections

from jiayuan.volunteers import services
from jiayuan.volunteers.models import ShiftAssignment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(calls):
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []

    def run(fn):
        try:
            barrier.wait()
            fn()
            outcomes.append("ok")
        except services.ShiftRefused as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(fn,)) for fn in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_concurrent_claims_of_the_last_places(head, team, make_shift, make_volunteer):
    if connection.vendor != "postgresql":
        pytest.skip("needs real concurrent connections (PostgreSQL)")
    volunteers = [make_volunteer(team=team) for _ in range(8)]
    shift = make_shift(day=dt.date(2099, 1, 1), start=dt.time(8), end=dt.time(12), needed=3)
    outcomes = _race(
        [lambda v=v: services.shift_assign(actor=head, shift=shift, volunteer=v, source="claim") for v in volunteers]
    )
    assert sorted(outcomes) == ["full"] * 5 + ["ok"] * 3
    assert ShiftAssignment.objects.filter(shift=shift).count() == 3


def test_one_person_racing_onto_overlapping_shifts_gets_one(head, team, make_shift, make_volunteer):
    if connection.vendor != "postgresql":
        pytest.skip("needs real concurrent connections (PostgreSQL)")
    v = make_volunteer(team=team)
    day = dt.date(2099, 1, 1)
    shifts = [make_shift(day=day, start=dt.time(8 + n), end=dt.time(12 + n), needed=5) for n in range(4)]
    outcomes = _race([lambda s=s: services.shift_assign(actor=head, shift=s, volunteer=v) for s in shifts])
    assert sorted(outcomes) == ["ok", "overlap", "overlap", "overlap"]
    assert ShiftAssignment.objects.filter(volunteer=v).count() == 1
