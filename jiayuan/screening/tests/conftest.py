"""Screening fixtures: a round over the shared test neighbourhood, residents and recorders."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from jiayuan.core import extensions
from jiayuan.core.permissions import Role
from jiayuan.screening import services
from jiayuan.screening.codes import sampling_code

TODAY = dt.date(2026, 4, 10)


@pytest.fixture
def frozen():
    with time_machine.travel(dt.datetime(2026, 4, 10, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=True):
        yield TODAY


@pytest.fixture
def staff(make_user, neighbourhood):
    return make_user(Role.COMMITTEE_STAFF, neighbourhood, username="staff")


@pytest.fixture
def sampler(make_user, neighbourhood):
    return make_user(Role.SAMPLER, neighbourhood, username="sampler", password="sampler-pass-1")


@pytest.fixture
def residents(household, household2, make_resident):
    """Five residents in building 1 (one away) and three in building 2."""
    b1 = [make_resident(household, name=n) for n in ("甲一", "甲二", "甲三", "甲四")]
    away = make_resident(household, name="甲外", presence="away")
    b2 = [make_resident(household2, name=n) for n in ("乙一", "乙二", "乙三")]
    return {"b1": b1, "away": away, "b2": b2}


@pytest.fixture
def round_(frozen, neighbourhood, staff):
    return services.round_create(actor=staff, neighbourhood=neighbourhood, date=frozen, pool_size=5)


def code(resident) -> str:
    return sampling_code(resident.pk)


@pytest.fixture
def events():
    """Record screening.* events; unsubscribed afterwards."""
    seen: dict[str, list[dict]] = {
        "screening.positive": [],
        "screening.pool_positive": [],
        "screening.antigen_positive": [],
        "screening.retest_negative": [],
    }
    handlers = {}
    for name, bucket in seen.items():

        def handler(_bucket=bucket, **payload):
            _bucket.append(payload)

        handlers[name] = handler
        extensions.subscribe(name, handler)
    yield seen
    for name, handler in handlers.items():
        extensions._handlers[name].remove(handler)
