"""A crafted day for the bulletin: residents, a round, antigen reports, cases, on fixed dates."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from jiayuan.accounts.services import api_token_create
from jiayuan.control import services as control
from jiayuan.control.choices import CaseSource
from jiayuan.screening.models import AntigenReport, Round, Sample, Tube

DAY = dt.date(2026, 4, 15)
YESTERDAY = DAY - dt.timedelta(days=1)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: dt.date, hour: int = 20) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def on_day(time_machine):
    """The clock at 20:00 on DAY (Shanghai), when the bulletin is composed."""
    time_machine.move_to(at(DAY), tick=False)
    return DAY


def bearer(user):
    _token, key = api_token_create(actor=None, user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


NAMES = ["王建国", "李秀英", "张伟", "刘芳", "陈静", "杨洋", "赵磊", "黄敏"]


@pytest.fixture
def residents(on_day, household, household2, make_resident):
    """Six residents in 1号楼 301, two in 2号楼 502 (all present)."""
    time_machine_day = on_day  # residents are registered on DAY
    assert time_machine_day == DAY
    first = [make_resident(household, name=n, phone=f"1391234{5600 + i}") for i, n in enumerate(NAMES[:6])]
    second = [make_resident(household2, name=n) for n in NAMES[6:]]
    return first + second


def sample(round_, resident, barcode="T1"):
    tube, _created = Tube.objects.get_or_create(
        round=round_, barcode=barcode, defaults={"neighbourhood_id": round_.neighbourhood_id, "pool_size": 10}
    )
    return Sample.objects.create(
        round=round_,
        tube=tube,
        neighbourhood_id=round_.neighbourhood_id,
        building_id=resident.household.building_id,
        resident=resident,
    )


@pytest.fixture
def crafted_day(residents, neighbourhood, time_machine):
    """Yesterday: a round sampling 3, 1 case in 2号楼. Today: a round sampling 5, 4 antigen reports,
    3 cases in 1号楼 (which seals it)."""
    r_yesterday = Round.objects.create(neighbourhood=neighbourhood, date=YESTERDAY)
    r_today = Round.objects.create(neighbourhood=neighbourhood, date=DAY)
    for r in residents[:3]:
        sample(r_yesterday, r, "Y1")
    for r in residents[:5]:
        sample(r_today, r, "D1")
    for r in residents[:4]:
        AntigenReport.objects.create(
            neighbourhood=neighbourhood, building_id=r.household.building_id, resident=r, date=DAY, result="negative"
        )
    time_machine.move_to(at(YESTERDAY), tick=False)
    control.case_record(actor=None, resident=residents[6], detected_on=YESTERDAY, source=CaseSource.PCR_ROUND)
    time_machine.move_to(at(DAY), tick=False)
    for r in residents[:3]:
        control.case_record(actor=None, resident=r, detected_on=DAY, source=CaseSource.PCR_ROUND)
    return residents
