"""Rounds, their stations and exemptions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from jiayuan.core.actors import acting_user
from jiayuan.core.audit import audit_record
from jiayuan.people.models import Resident
from jiayuan.places.models import Building, Neighbourhood
from jiayuan.screening.choices import (
    PoolSize,
    RoundKind,
    RoundStatus,
    StationKind,
    TubeStatus,
)
from jiayuan.screening.models import (
    Exemption,
    Round,
    Station,
    Tube,
)
from jiayuan.screening.services._shared import MSG_NOT_IN_ROUND

# --- Rounds, stations, exemptions -----------------------------------------------------------------


@transaction.atomic
def round_create(
    *,
    actor,
    neighbourhood: Neighbourhood,
    kind: str = RoundKind.PCR,
    date: dt.date,
    pool_size: int = PoolSize.TEN,
    start_time: dt.time | None = None,
    end_time: dt.time | None = None,
    slot_minutes: int = 20,
    buildings: Iterable[Building] | None = None,
    notes: str = "",
) -> Round:
    """Create a round over the whole neighbourhood, or over ``buildings`` when given."""
    errors: dict[str, list[str]] = {}
    if kind not in RoundKind.values:
        errors["kind"] = ["检测类型应为 pcr 或 antigen"]
    if pool_size not in PoolSize.values:
        errors["pool_size"] = ["混采数应为 1、5、10 或 20"]
    start_time = start_time or dt.time(7, 0)
    end_time = end_time or dt.time(11, 0)
    if end_time <= start_time:
        errors["end_time"] = ["结束时间应晚于开始时间"]
    if not 5 <= slot_minutes <= 120:
        errors["slot_minutes"] = ["时段长度应在5到120分钟之间"]
    chosen = list(buildings or [])
    if any(b.neighbourhood_id != neighbourhood.pk for b in chosen):
        errors["buildings"] = ["楼栋不属于该居民区"]
    if errors:
        raise ValidationError(errors)
    round_ = Round.objects.create(
        neighbourhood=neighbourhood,
        kind=kind,
        date=date,
        pool_size=pool_size if kind == RoundKind.PCR else 1,
        start_time=start_time,
        end_time=end_time,
        slot_minutes=slot_minutes,
        whole_neighbourhood=not chosen,
        notes=notes[:200],
        created_by=acting_user(actor),
    )
    if chosen:
        round_.buildings.set(chosen)
    audit_record(
        actor=actor,
        action="screening.round_create",
        obj=round_,
        changes={"kind": kind, "date": date.isoformat(), "pool_size": pool_size, "buildings": [b.pk for b in chosen]},
    )
    return round_


@transaction.atomic
def round_finish(*, actor, round_: Round) -> Round:
    """End sampling: open tubes are closed as they are, no scan is accepted afterwards."""
    given = round_
    round_ = Round.objects.select_for_update().get(pk=round_.pk)
    if round_.status == RoundStatus.FINISHED:
        given.status, given.finished_at = round_.status, round_.finished_at
        return round_
    now = timezone.now()
    closed = Tube.objects.filter(round=round_, status=TubeStatus.OPEN).update(status=TubeStatus.CLOSED, closed_at=now)
    round_.status = RoundStatus.FINISHED
    round_.finished_at = now
    round_.save(update_fields=["status", "finished_at"])
    given.status, given.finished_at = round_.status, round_.finished_at
    audit_record(actor=actor, action="screening.round_finish", obj=round_, changes={"tubes_closed": closed})
    return round_


@transaction.atomic
def station_create(
    *, actor, round_: Round, name: str, kind: str = StationKind.FIXED, samplers: int = 2, swabs_per_hour: int = 60
) -> Station:
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["请填写采样点名称"]
    if kind not in StationKind.values:
        errors["kind"] = ["类型无效"]
    if not 1 <= samplers <= 50:
        errors["samplers"] = ["采样人员数应在1到50之间"]
    if not 1 <= swabs_per_hour <= 600:
        errors["swabs_per_hour"] = ["每人每小时采样数应在1到600之间"]
    if errors:
        raise ValidationError(errors)
    station = Station.objects.create(
        round=round_,
        neighbourhood_id=round_.neighbourhood_id,
        name=name[:64],
        kind=kind,
        samplers=samplers,
        swabs_per_hour=swabs_per_hour,
    )
    audit_record(
        actor=actor,
        action="screening.station_create",
        obj=station,
        changes={"kind": kind, "samplers": samplers, "swabs_per_hour": swabs_per_hour},
    )
    return station


@transaction.atomic
def station_delete(*, actor, station: Station) -> None:
    audit_record(actor=actor, action="screening.station_delete", obj=station)
    station.delete()


@transaction.atomic
def exemption_add(*, actor, round_: Round, resident: Resident, reason: str) -> Exemption:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["请填写免检原因"]})
    if resident.neighbourhood_id != round_.neighbourhood_id:
        raise ValidationError({"resident": [MSG_NOT_IN_ROUND]})
    exemption, created = Exemption.objects.get_or_create(
        round=round_,
        resident=resident,
        defaults={
            "neighbourhood_id": round_.neighbourhood_id,
            "building_id": resident.household.building_id if resident.household_id else None,
            "reason": reason[:100],
            "created_by": acting_user(actor),
        },
    )
    if not created and exemption.reason != reason[:100]:
        exemption.reason = reason[:100]
        exemption.save(update_fields=["reason"])
    audit_record(actor=actor, action="screening.exemption_add", obj=exemption, changes={"round": round_.pk})
    return exemption


@transaction.atomic
def exemption_remove(*, actor, exemption: Exemption) -> None:
    audit_record(actor=actor, action="screening.exemption_remove", obj=exemption)
    exemption.delete()
