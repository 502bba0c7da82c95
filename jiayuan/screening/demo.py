"""Screening demo data: a PCR round running today with stations, a plan and some tubes filled;
yesterday's round finished, with results and one positive pool (so the retest and missed lists
have something to show); antigen self-reports for today, one of them positive.

Idempotent: each part is written once per day (a round is recognised by its date and the note
``演示数据``; antigen reports by the day). Bulk inserts keep it to a couple of seconds; the
results and the positives go through the services so their fan-out is the real one.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from jiayuan.accounts.models import User
from jiayuan.core.audit import audit_record
from jiayuan.people.choices import Presence
from jiayuan.people.models import Resident
from jiayuan.screening import services
from jiayuan.screening.choices import (
    AntigenResult,
    ReportChannel,
    RoundKind,
    StationKind,
    TubeResult,
    TubeStatus,
)
from jiayuan.screening.models import AntigenReport, Round, Sample, Tube

NOTE = "演示数据"
SEED = 20220404


def _present(neighbourhood) -> list[tuple[int, int]]:
    """(resident id, building id) of present residents, in building order."""
    return list(
        Resident.objects.filter(neighbourhood=neighbourhood, presence=Presence.PRESENT, household__isnull=False)
        .order_by("household__building__sort_key", "household_id", "id")
        .values_list("id", "household__building_id")
    )


def _fill(round_: Round, people: list[tuple[int, int]], *, prefix: str, sampler, leave_open: int = 0) -> list[Tube]:
    """Tubes of ``round_.pool_size`` filled in order; the last ``leave_open`` swabs stay in an open tube."""
    now = timezone.now()
    size = round_.pool_size
    tubes = []
    chunks = [people[i : i + size] for i in range(0, len(people), size)]
    for n, chunk in enumerate(chunks, start=1):
        is_last = n == len(chunks)
        open_ = is_last and leave_open and len(chunk) < size
        tubes.append(
            Tube(
                round=round_,
                neighbourhood_id=round_.neighbourhood_id,
                barcode=f"{prefix}{n:05d}",
                pool_size=size,
                fill_count=len(chunk),
                status=TubeStatus.OPEN if open_ else TubeStatus.CLOSED,
                opened_by=sampler,
                closed_at=None if open_ else now,
            )
        )
    Tube.objects.bulk_create(tubes)
    samples = [
        Sample(
            round=round_,
            tube=tube,
            neighbourhood_id=round_.neighbourhood_id,
            building_id=building_id,
            resident_id=resident_id,
            sampled_by=sampler,
        )
        for tube, chunk in zip(tubes, chunks, strict=True)
        for resident_id, building_id in chunk
    ]
    Sample.objects.bulk_create(samples, batch_size=1000)
    return tubes


def _stations(round_: Round, actor) -> None:
    # 10-in-1 swabbing runs at about 100 an hour per sampler; door-to-door far slower.
    services.station_create(actor=actor, round_=round_, name="南门采样点", samplers=6, swabs_per_hour=100)
    services.station_create(actor=actor, round_=round_, name="北门采样点", samplers=5, swabs_per_hour=100)
    services.station_create(
        actor=actor, round_=round_, name="上门一队", kind=StationKind.DOOR, samplers=3, swabs_per_hour=30
    )


def _yesterday(neighbourhood, rng: random.Random, staff, sampler, people, day: dt.date) -> str:
    if Round.objects.filter(neighbourhood=neighbourhood, date=day, notes=NOTE).exists():
        return "已存在"
    round_ = services.round_create(
        actor=staff, neighbourhood=neighbourhood, kind=RoundKind.PCR, date=day, pool_size=10, notes=NOTE
    )
    _stations(round_, staff)
    services.plan_generate(actor=staff, round_=round_)
    sampled = [p for p in people if rng.random() < 0.96]  # 4 % missed
    tubes = _fill(round_, sampled, prefix=f"D{day:%m%d}", sampler=sampler)
    positive = tubes[len(tubes) // 3]
    Tube.objects.filter(round=round_).exclude(pk=positive.pk).update(
        result=TubeResult.NEGATIVE, result_at=timezone.now()
    )
    services.tube_result_record(actor=staff, round_=round_, barcode=positive.barcode, result=TubeResult.POSITIVE)
    services.round_finish(actor=staff, round_=round_)
    audit_record(
        actor=None, action="demo.screening", obj=round_, changes={"samples": len(sampled), "tubes": len(tubes)}
    )
    return f"{len(sampled)} 人 / {len(tubes)} 管, 1 管阳性"


def _today(neighbourhood, rng: random.Random, staff, sampler, people, day: dt.date) -> str:
    if Round.objects.filter(neighbourhood=neighbourhood, date=day, notes=NOTE).exists():
        return "已存在"
    round_ = services.round_create(
        actor=staff,
        neighbourhood=neighbourhood,
        kind=RoundKind.PCR,
        date=day,
        pool_size=10,
        start_time=dt.time(7, 0),
        end_time=dt.time(11, 0),
        notes=NOTE,
    )
    _stations(round_, staff)
    services.plan_generate(actor=staff, round_=round_)
    # The first buildings of the plan are done or under way: about 40 % swabbed, one tube open.
    cut = int(len(people) * 0.4)
    sampled = [p for p in people[:cut] if rng.random() < 0.93]
    tubes = _fill(round_, sampled, prefix=f"T{day:%m%d}", sampler=sampler, leave_open=1)
    audit_record(
        actor=None, action="demo.screening", obj=round_, changes={"samples": len(sampled), "tubes": len(tubes)}
    )
    return f"{len(sampled)} 人 / {len(tubes)} 管"


def _antigen(neighbourhood, rng: random.Random, people, day: dt.date) -> str:
    if AntigenReport.objects.filter(neighbourhood=neighbourhood, date=day).exists():
        return "已存在"
    reported = [p for p in people if rng.random() < 0.7]
    rows = [
        AntigenReport(
            neighbourhood_id=neighbourhood.pk,
            building_id=building_id,
            resident_id=resident_id,
            date=day,
            result=AntigenResult.INVALID if rng.random() < 0.01 else AntigenResult.NEGATIVE,
            channel=ReportChannel.HOUSEHOLD,
        )
        for resident_id, building_id in reported[1:]
    ]
    AntigenReport.objects.bulk_create(rows, batch_size=1000)
    # One positive through the service: it raises the home-page alert, joins the retest list and
    # keeps the resident's household home (抗原阳性待核酸复核); no case, no zone change.
    first = Resident.objects.select_related("household").get(pk=reported[0][0])
    services.antigen_report_submit(
        actor=None, resident=first, date=day, result=AntigenResult.POSITIVE, channel=ReportChannel.HOUSEHOLD
    )
    return f"{len(reported)} 份, 1 份阳性"


def demo_load(*, neighbourhood, stdout=None) -> None:
    today = timezone.localdate()
    rng = random.Random(SEED)  # noqa: S311 - made-up demo data, not a secret
    staff = User.objects.filter(username="staff").first()
    sampler = User.objects.filter(username="sampler").first()
    people = _present(neighbourhood)
    if not people:
        return
    with transaction.atomic():
        done = _yesterday(neighbourhood, rng, staff, sampler, people, today - dt.timedelta(days=1))
        running = _today(neighbourhood, rng, staff, sampler, people, today)
        antigen = _antigen(neighbourhood, rng, people, today)
    if stdout is not None:
        stdout.write(f"筛查 screening: 昨日一轮 {done}; 今日一轮进行中 {running}; 今日抗原 {antigen}\n")
