"""Volunteers fixtures: a team, a shift today, resident volunteers and an outsider."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from jiayuan.accounts.services import api_token_create
from jiayuan.volunteers import services


def bearer(user):
    _token, key = api_token_create(actor=None, user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.fixture
def team(head, neighbourhood):
    return services.team_create(actor=head, neighbourhood=neighbourhood, name="门岗一队", kind="gate")


@pytest.fixture
def make_volunteer(head, neighbourhood, make_resident):
    counter = {"n": 0}

    def make(household=None, team=None, leader=False, status="active", name=None, **kw):
        counter["n"] += 1
        if household is not None:
            resident = make_resident(household, name=name or f"志愿者{counter['n']}")
            v = services.volunteer_create(
                actor=head, neighbourhood=neighbourhood, resident=resident, status=status, **kw
            )
        else:
            v = services.volunteer_create(
                actor=head,
                neighbourhood=neighbourhood,
                name=name or f"外来{counter['n']}",
                phone=f"1391234{counter['n']:04d}",
                status=status,
                **kw,
            )
        if team is not None:
            services.team_add_member(actor=head, team=team, volunteer=v, is_leader=leader)
        return v

    return make


def at_today(hour: int, minute: int = 0) -> dt.time:
    return dt.time(hour, minute)


@pytest.fixture
def make_shift(head, team):
    def make(day=None, start=dt.time(8), end=dt.time(12), needed=2, t=None, **kw):
        return services.shift_create(
            actor=head,
            team=t or team,
            date=day or timezone.localdate(),
            start=start,
            end=end,
            needed=needed,
            place=kw.pop("place", "1号门"),
            **kw,
        )

    return make
