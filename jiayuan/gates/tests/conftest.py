"""Fixtures of the gates tests: a gate in the compound, a guard on it, sealing and quarantine helpers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from jiayuan.accounts.services import api_token_create
from jiayuan.control.models import Quarantine, ZoneOverride
from jiayuan.core.permissions import Role
from jiayuan.gates import services
from jiayuan.screening.codes import sampling_code


@pytest.fixture
def gate(compound):
    return services.gate_create(actor=None, compound=compound, name="南门")


@pytest.fixture
def guard(make_user, compound):
    return make_user(Role.GATE_GUARD, compound, username="guard")


@pytest.fixture
def resident(make_resident, household):
    return make_resident(household, name="王小明", phone="13800001111")


@pytest.fixture
def code():
    return lambda r: sampling_code(r.pk)


def bearer(user):
    _token, key = api_token_create(actor=None, user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def zone(building, level="sealed", days=7):
    return ZoneOverride.objects.create(
        neighbourhood_id=building.neighbourhood_id,
        building=building,
        level=level,
        reason="测试",
        expires_at=timezone.now() + dt.timedelta(days=days),
    )


def home_quarantine(household, kind="home", days=7):
    today = timezone.localdate()
    return Quarantine.objects.create(
        neighbourhood_id=household.neighbourhood_id,
        building_id=household.building_id,
        household=household,
        kind=kind,
        reason="close_contact",
        start_on=today,
        days=days,
        planned_end=today + dt.timedelta(days=days),
    )
