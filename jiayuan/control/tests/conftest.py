"""Fixtures of the control app's tests."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from jiayuan.control.models import ZoneSettings
from jiayuan.places import services as places_services

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2022, 4, 20)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    """A moment on ``day`` in Shanghai (for time_machine)."""
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def frozen(time_machine):
    """Time frozen at 10:00 on TODAY (Shanghai); ``frozen.move_to(at(day))`` to travel."""
    time_machine.move_to(at(TODAY), tick=False)
    return time_machine


@pytest.fixture
def compound2(neighbourhood):
    return places_services.compound_create(actor=None, neighbourhood=neighbourhood, name="红御苑")


@pytest.fixture
def building3(compound2):
    return places_services.building_create(actor=None, compound=compound2, number="3", units=1, floors=6)


@pytest.fixture
def household3(building3):
    return places_services.household_create(actor=None, building=building3, unit="", room="101")


@pytest.fixture
def resident(household, make_resident):
    return make_resident(household, name="王阳", phone="13800001234")


@pytest.fixture
def resident2(household2, make_resident):
    return make_resident(household2, name="李密")


@pytest.fixture
def compound_unit(neighbourhood):
    return ZoneSettings.objects.create(neighbourhood=neighbourhood, unit="compound")
