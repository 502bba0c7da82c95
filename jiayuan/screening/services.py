"""Writes of the screening flow. Every rule about rounds, tubes, samples, results and antigen
reports lives here; pages, the API, the importer and the demo all come through these services.

Events published inside the service's transaction (ADR 0006): ``screening.positive``,
``screening.pool_positive``, ``screening.antigen_positive`` and ``screening.retest_negative``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import mimetypes
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404
from django.utils import timezone

from jiayuan.accounts.models import HouseholdLink
from jiayuan.accounts.services import household_link_used

# Imported into this module so tests can patch ``jiayuan.screening.services.zone_levels``.
from jiayuan.control.selectors import residents_with_open_case, zone_levels
from jiayuan.core import context, crypto, rawsql
from jiayuan.core.audit import audit_event, audit_record
from jiayuan.core.extensions import publish
from jiayuan.core.masking import mask_id_number, mask_name, mask_phone
from jiayuan.core.models import AuditEvent, IdempotencyRecord
from jiayuan.people.choices import Presence
from jiayuan.people.models import Resident, ResidentTag
from jiayuan.places.models import Building, Household, Neighbourhood
from jiayuan.screening import planning
from jiayuan.screening.choices import (
    DOOR_TO_DOOR_TAGS,
    AntigenResult,
    PoolSize,
    ReportChannel,
    RetestStatus,
    RoundKind,
    RoundStatus,
    SampleKind,
    StationKind,
    TubeResult,
    TubeStatus,
)
from jiayuan.screening.codes import parse_sampling_code
from jiayuan.screening.models import (
    AntigenReport,
    Exemption,
    PlanSlot,
    Retest,
    Round,
    Sample,
    Station,
    Tube,
)

__all__ = [
    "ScanOutcome",
    "ScanRejected",
    "antigen_report_confirm",
    "antigen_report_submit",
    "check_photo",
    "exemption_add",
    "exemption_remove",
    "plan_generate",
    "round_create",
    "round_finish",
    "sample_scan",
    "sample_scan_batch",
    "sample_scan_person",
    "sample_undo",
    "station_create",
    "station_delete",
    "tube_close",
    "tube_open",
    "tube_result_record",
    "tube_results_record_many",
]

BARCODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic", "image/heif")


class ScanRejected(ValidationError):
    """A refused scan or result: ``status`` is the HTTP answer (404 unknown, 409 conflict, 422
    bad input) and ``code`` a stable name for the case (``duplicate``, ``tube_full`` …)."""

    def __init__(self, message: str, *, status: int, code: str) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.message_text = message


MSG_ROUND_FINISHED = "本轮筛查已结束, 不能再采样"
MSG_UNKNOWN_CODE = "核酸码无效或不存在, 请核对后重扫"
MSG_NOT_IN_ROUND = "该居民不属于本轮筛查的居民区"
MSG_BAD_BARCODE = "试管条码无效(只能是字母、数字、-、_, 最长40位)"
MSG_UNKNOWN_TUBE = "未找到该试管, 请先扫描试管条码开管"
MSG_TUBE_CLOSED = "该试管已封管, 请开新管"
MSG_TUBE_FULL = "该试管已满, 请开新管"
MSG_NOT_ON_RETEST = "该居民不在本轮复核名单, 不能用单采复核管"


def _msg_duplicate(barcode: str) -> str:
    return f"该居民本轮已采样(试管 {barcode}), 无需重复采样"


def _ref(round_: Round, tube: Tube) -> str:
    return f"第{round_.pk}轮 {round_.date:%m-%d} 试管 {tube.barcode}"


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
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
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
            "created_by": actor if getattr(actor, "is_authenticated", False) else None,
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


# --- Call-down plan -------------------------------------------------------------------------------


def _add_minutes(start: dt.time, minutes: int) -> dt.time:
    base = dt.datetime.combine(dt.date(2000, 1, 1), start)
    return (base + dt.timedelta(minutes=minutes)).time()


def expected_by_building(round_: Round) -> tuple[dict[int, int], dict[int, int]]:
    """Per building: (people to call to a station, homebound people for a door-to-door team)."""
    residents = Resident.objects.filter(
        neighbourhood_id=round_.neighbourhood_id, presence=Presence.PRESENT, household__isnull=False
    )
    if not round_.whole_neighbourhood:
        residents = residents.filter(household__building_id__in=round_.buildings.values("id"))
    residents = residents.filter(~Exists(Exemption.objects.filter(round=round_, resident=OuterRef("pk"))))
    homebound = Exists(ResidentTag.objects.filter(resident=OuterRef("pk"), tag__in=DOOR_TO_DOOR_TAGS))
    rows = (
        residents.annotate(hb=homebound)
        .values("household__building_id")
        .annotate(total=Count("id"), home=Count("id", filter=Q(hb=True)))
        .order_by()
    )
    walk, door = {}, {}
    for row in rows:
        walk[row["household__building_id"]] = row["total"] - row["home"]
        door[row["household__building_id"]] = row["home"]
    return walk, door


@dataclass
class PlanResult:
    slots: list[PlanSlot]
    warnings: list[str]


@transaction.atomic
def plan_generate(*, actor, round_: Round) -> PlanResult:
    """(Re)build the call-down plan: fixed stations get the walking residents of every building
    that is not sealed, largest building first onto the station that frees earliest; door-to-door
    teams get sealed buildings whole and the homebound (卧床/残障/独居老人) of the others."""
    stations = list(round_.stations.all())
    fixed = [s for s in stations if s.kind == StationKind.FIXED]
    door = [s for s in stations if s.kind == StationKind.DOOR]
    warnings: list[str] = []
    walk, homebound = expected_by_building(round_)
    building_ids = sorted(set(walk) | set(homebound))
    levels = zone_levels(building_ids=building_ids) if building_ids else {}
    sealed = {b for b in building_ids if levels.get(b) == "sealed"}
    station_work = [(b, walk.get(b, 0)) for b in building_ids if b not in sealed]
    door_work = [(b, walk.get(b, 0) + homebound.get(b, 0)) for b in sealed]
    door_work += [(b, homebound.get(b, 0)) for b in building_ids if b not in sealed]

    def caps(group: list[Station]) -> list[tuple[int, int]]:
        return [(s.pk, planning.capacity_per_slot(s.samplers, s.swabs_per_hour, round_.slot_minutes)) for s in group]

    fixed_caps, door_caps = caps(fixed), caps(door)
    fixed_plan = planning.plan(fixed_caps, station_work)
    door_plan = planning.plan(door_caps, door_work)
    planning.verify(fixed_caps, fixed_plan)
    planning.verify(door_caps, door_plan)
    if any(n for _b, n in station_work) and not fixed:
        warnings.append("还没有固定采样点, 楼栋无法安排")
    if any(n for _b, n in door_work) and not door:
        warnings.append("有封控楼栋或行动不便居民, 但还没有上门采样队")

    PlanSlot.objects.filter(round=round_).delete()
    rows = []
    for assignments, is_door in ((fixed_plan, False), (door_plan, True)):
        for a in assignments:
            note = ""
            if is_door:
                note = "封控楼, 全楼上门" if a.building in sealed else "卧床/残障/独居老人上门"
            rows.append(
                PlanSlot(
                    round=round_,
                    neighbourhood_id=round_.neighbourhood_id,
                    station_id=a.station,
                    building_id=a.building,
                    first_slot=a.first_slot,
                    last_slot=a.last_slot,
                    start=_add_minutes(round_.start_time, a.first_slot * round_.slot_minutes),
                    end=_add_minutes(round_.start_time, (a.last_slot + 1) * round_.slot_minutes),
                    people=a.people,
                    door_to_door=is_door,
                    note=note,
                )
            )
    PlanSlot.objects.bulk_create(rows)
    span = max(planning.makespan(fixed_plan), planning.makespan(door_plan))
    finish = _add_minutes(round_.start_time, span * round_.slot_minutes)
    window = (
        dt.datetime.combine(round_.date, round_.end_time) - dt.datetime.combine(round_.date, round_.start_time)
    ).total_seconds() / 60
    if span * round_.slot_minutes > window:
        warnings.append(f"按现有采样力量需到 {finish:%H:%M} 才能完成, 超出计划时间, 请增加采样人员或采样点")
    audit_record(
        actor=actor,
        action="screening.plan_generate",
        obj=round_,
        changes={"slots": len(rows), "sealed": sorted(sealed), "finish": finish.strftime("%H:%M")},
    )
    return PlanResult(slots=rows, warnings=warnings)


# --- Tubes and samples ----------------------------------------------------------------------------


def _clean_barcode(barcode: str) -> str:
    barcode = (barcode or "").strip()
    if not BARCODE_RE.match(barcode):
        raise ScanRejected(MSG_BAD_BARCODE, status=422, code="bad_barcode")
    return barcode


def _check_round_open(round_: Round) -> None:
    if round_.status != RoundStatus.OPEN:
        raise ScanRejected(MSG_ROUND_FINISHED, status=409, code="round_finished")


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


@transaction.atomic
def tube_open(*, actor, round_: Round, barcode: str, is_retest: bool = False) -> Tube:
    """Open a tube by its barcode; an already open tube of this round is simply resumed."""
    _check_round_open(round_)
    barcode = _clean_barcode(barcode)
    tube = Tube.objects.filter(round=round_, barcode=barcode).first()
    if tube is None:
        try:
            with transaction.atomic():
                tube = Tube.objects.create(
                    round=round_,
                    neighbourhood_id=round_.neighbourhood_id,
                    barcode=barcode,
                    pool_size=1 if is_retest else round_.pool_size,
                    is_retest=is_retest,
                    opened_by=_user(actor),
                )
        except IntegrityError:  # a concurrent open of the same barcode won
            tube = Tube.objects.get(round=round_, barcode=barcode)
        else:
            audit_record(
                actor=actor,
                action="screening.tube_open",
                obj=tube,
                changes={"round": round_.pk, "pool_size": tube.pool_size, "retest": is_retest},
            )
            return tube
    if tube.status != TubeStatus.OPEN:
        raise ScanRejected(MSG_TUBE_CLOSED, status=409, code="tube_closed")
    return tube


@transaction.atomic
def tube_close(*, actor, tube: Tube) -> Tube:
    """Close a tube by hand (fewer swabs than its pool size); closing twice changes nothing."""
    tube = Tube.objects.select_for_update().get(pk=tube.pk)
    if tube.status == TubeStatus.CLOSED:
        return tube
    tube.status = TubeStatus.CLOSED
    tube.closed_at = timezone.now()
    tube.save(update_fields=["status", "closed_at"])
    audit_record(actor=actor, action="screening.tube_close", obj=tube, changes={"fill": tube.fill_count})
    return tube


UNDO_SECONDS = 60
MSG_UNDO_UNKNOWN = "没有这条采样记录, 可能已撤销"
MSG_UNDO_NOT_YOURS = "只能撤销自己扫的记录"
MSG_UNDO_NOT_LAST = "只能撤销自己最近一次扫码"
MSG_UNDO_LATE = "扫码已超过1分钟, 不能撤销; 如需更正请联系本轮负责人"
MSG_UNDO_RESULT = "该试管已有检测结果, 不能撤销"


@dataclass
class UndoOutcome:
    tube: Tube
    name: str
    reopened: bool


@transaction.atomic
def sample_undo(*, actor, round_: Round, sample_id: int) -> UndoOutcome:
    """Undo the sampler's own last scan within ``UNDO_SECONDS`` (a wrong person scanned, a swab
    dropped): the sample is deleted, its place in the tube is free again (a tube that closed
    itself on that swab opens again), a retest it answered is pending again. Audited. Refused
    (``ScanRejected``) for another user's scan, an older scan, after the minute, once the round
    is finished or the tube has a result."""
    _check_round_open(round_)
    user = _user(actor)
    sample = (
        Sample.objects.select_for_update(of=("self",))
        .select_related("resident")
        .filter(round=round_, pk=sample_id)
        .first()
        if isinstance(sample_id, int)
        else None
    )
    if sample is None:
        raise ScanRejected(MSG_UNDO_UNKNOWN, status=404, code="unknown_sample")
    if user is None or sample.sampled_by_id != user.pk:
        raise ScanRejected(MSG_UNDO_NOT_YOURS, status=403, code="not_yours")
    last = Sample.objects.filter(round=round_, sampled_by=user).order_by("-id").values_list("pk", flat=True).first()
    if last != sample.pk:
        raise ScanRejected(MSG_UNDO_NOT_LAST, status=409, code="not_last")
    if timezone.now() - sample.sampled_at > dt.timedelta(seconds=UNDO_SECONDS):
        raise ScanRejected(MSG_UNDO_LATE, status=409, code="too_late")
    tube = Tube.objects.select_for_update().get(pk=sample.tube_id)
    if tube.result != TubeResult.PENDING:
        raise ScanRejected(MSG_UNDO_RESULT, status=409, code="has_result")
    # Full and closed: it closed itself on a swab, this one being the last (a tube is closed by
    # hand only while it has room), so it opens again.
    reopened = tube.status == TubeStatus.CLOSED and tube.fill_count >= tube.pool_size
    tube.fill_count = max(tube.fill_count - 1, 0)
    fields = ["fill_count"]
    if reopened:
        tube.status, tube.closed_at = TubeStatus.OPEN, None
        fields += ["status", "closed_at"]
    tube.save(update_fields=fields)
    for row in Retest.objects.select_for_update().filter(retest_sample=sample):
        row.status, row.retest_sample = RetestStatus.PENDING, None
        if row.antigen_report_id:
            row.round = None
        row.save(update_fields=["status", "retest_sample", "round"])
    audit_record(
        actor=actor,
        action="screening.sample_undo",
        obj=sample,
        changes={
            "round": round_.pk,
            "tube": tube.barcode,
            "fill": tube.fill_count,
            "reopened": reopened,
            "retest": sample.is_retest,
        },
    )
    name = sample.display_name
    sample.delete()
    return UndoOutcome(tube=tube, name=name, reopened=reopened)


@dataclass
class ScanOutcome:
    tube: Tube
    sample: Sample
    name: str

    @property
    def full(self) -> bool:
        return self.tube.fill_count >= self.tube.pool_size

    def as_dict(self) -> dict[str, Any]:
        return {
            "sample_id": self.sample.pk,
            "tube": self.tube.barcode,
            "fill": self.tube.fill_count,
            "pool_size": self.tube.pool_size,
            "full": self.full,
            "closed": self.tube.status == TubeStatus.CLOSED,
            "resident": self.sample.resident_id,
            "name": mask_name(self.name),
            "retest": self.sample.is_retest,
        }


_UNSET: Any = object()


def _resolve_resident(round_: Round, code: str, scanned: dict | None = _UNSET) -> Resident:
    """The resident a sampling code names (only the columns a scan needs). ``scanned``: those
    columns already read with the round (``selectors.round_for_scan``), None when that found no
    such resident."""
    resident_id = parse_sampling_code(code)
    if resident_id is None:
        raise ScanRejected(MSG_UNKNOWN_CODE, status=404, code="unknown_code")
    if scanned is not _UNSET:
        if not scanned:
            raise ScanRejected(MSG_UNKNOWN_CODE, status=404, code="unknown_code")
        row = (resident_id, scanned["name"], scanned["nb"], scanned["hh"], scanned["b"])
        return _resident_from_row(round_, row)
    # Only the columns the scan needs, in one plain query (this is the hot path of a round): the
    # encrypted ID number and phone are never loaded, let alone decrypted.
    qn = connection.ops.quote_name
    with rawsql.hot_cursor(connection) as cur:
        cur.execute(
            f"SELECT r.id, r.name, r.neighbourhood_id, r.household_id, h.building_id "  # noqa: S608
            f"FROM {qn(Resident._meta.db_table)} r LEFT JOIN {qn(Household._meta.db_table)} h "
            "ON h.id = r.household_id WHERE r.id = %s",
            [resident_id],
        )
        row = cur.fetchone()
    if row is None:
        raise ScanRejected(MSG_UNKNOWN_CODE, status=404, code="unknown_code")
    return _resident_from_row(round_, row)


def _resident_from_row(round_: Round, row) -> Resident:
    resident = Resident(pk=row[0], name=row[1], neighbourhood_id=row[2], household_id=row[3])
    resident._state.adding = False
    resident.building_id_cached = row[4]
    if resident.neighbourhood_id != round_.neighbourhood_id:
        raise ScanRejected(MSG_NOT_IN_ROUND, status=422, code="not_in_round")
    return resident


def _take_place(round_: Round, barcode: str) -> Tube | None:
    """Take one place in an open tube that is not full, atomically: ``UPDATE … SET fill_count =
    fill_count + 1 … WHERE status = 'open' AND fill_count < pool_size RETURNING …``.

    The UPDATE locks the tube row until the transaction ends, and PostgreSQL re-checks the WHERE
    on the latest row version after waiting for a concurrent writer, so two samplers scanning into
    one tube can never overfill it (the same guarantee as ``select_for_update`` + update, in one
    round trip). The tube closes itself when the last place is taken. None: no open place.
    """
    table = connection.ops.quote_name(Tube._meta.db_table)
    with rawsql.hot_cursor(connection) as cur:
        cur.execute(
            f"UPDATE {table} SET fill_count = fill_count + 1, "  # noqa: S608 - table name from the model
            "status = CASE WHEN fill_count + 1 >= pool_size THEN %s ELSE status END, "
            "closed_at = CASE WHEN fill_count + 1 >= pool_size THEN %s ELSE closed_at END "
            "WHERE round_id = %s AND barcode = %s AND status = %s AND fill_count < pool_size "
            "RETURNING id, fill_count, pool_size, status, is_retest",
            [
                TubeStatus.CLOSED,
                connection.ops.adapt_datetimefield_value(timezone.now()),
                round_.pk,
                barcode,
                TubeStatus.OPEN,
            ],
        )
        row = cur.fetchone()
    if row is None:
        return None
    tube = Tube(
        pk=row[0],
        round=round_,
        neighbourhood_id=round_.neighbourhood_id,
        barcode=barcode,
        fill_count=row[1],
        pool_size=row[2],
        status=row[3],
        is_retest=bool(row[4]),
    )
    tube._state.adding = False
    return tube


def _place_in_tube(*, actor, round_: Round, barcode: str, open_tube: bool, retest: bool) -> Tube:
    barcode = _clean_barcode(barcode)
    tube = _take_place(round_, barcode)
    if tube is not None:
        return tube
    existing = Tube.objects.filter(round=round_, barcode=barcode).only("status", "fill_count", "pool_size").first()
    if existing is None:
        if not open_tube:
            raise ScanRejected(MSG_UNKNOWN_TUBE, status=404, code="unknown_tube")
        tube_open(actor=actor, round_=round_, barcode=barcode, is_retest=retest)
        tube = _take_place(round_, barcode)
        if tube is not None:
            return tube
        existing = Tube.objects.filter(round=round_, barcode=barcode).only("status", "fill_count", "pool_size").first()
    if existing is not None and existing.status == TubeStatus.OPEN and existing.fill_count >= existing.pool_size:
        raise ScanRejected(MSG_TUBE_FULL, status=409, code="tube_full")
    raise ScanRejected(MSG_TUBE_CLOSED, status=409, code="tube_closed")


def _insert_sample(sample: Sample) -> bool:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id: False when the unique (round, resident,
    is_retest) already holds this person (no exception, so the transaction stays usable)."""
    table = connection.ops.quote_name(Sample._meta.db_table)
    now = timezone.now()
    with rawsql.hot_cursor(connection) as cur:
        cur.execute(
            f"INSERT INTO {table} (round_id, tube_id, neighbourhood_id, building_id, resident_id, kind, "  # noqa: S608
            "is_retest, person_name, person_contact, person_contact_hash, sampled_by_id, sampled_at, day) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, '', '', '', %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            [
                sample.round_id,
                sample.tube_id,
                sample.neighbourhood_id,
                sample.building_id,
                sample.resident_id,
                sample.kind,
                sample.is_retest,
                sample.sampled_by_id,
                connection.ops.adapt_datetimefield_value(now),
                sample.round.date,
            ],
        )
        row = cur.fetchone()
    if row is None:
        return False
    sample.pk = row[0]
    sample.sampled_at = now
    sample._state.adding = False
    return True


def _resident_outcome(actor, round_: Round, resident: Resident, tube: Tube) -> ScanOutcome:
    """The (not yet stored) sample of a roster resident in ``tube``, as a scan's outcome."""
    sample = Sample(
        round=round_,
        tube=tube,
        neighbourhood_id=round_.neighbourhood_id,
        building_id=resident.building_id_cached,
        resident=resident,
        kind=SampleKind.RESIDENT,
        is_retest=tube.is_retest,
        sampled_by=_user(actor),
    )
    return ScanOutcome(tube=tube, sample=sample, name=resident.name)


@transaction.atomic
def sample_scan(
    *, actor, round_: Round, tube_barcode: str, resident_code: str, open_tube: bool = True, retest: bool = False
) -> ScanOutcome:
    """Swab a roster resident into a tube (see ``_sample_scan``)."""
    return _sample_scan(
        actor=actor,
        round_=round_,
        tube_barcode=tube_barcode,
        resident_code=resident_code,
        open_tube=open_tube,
        retest=retest,
    )


def _sample_scan(
    *,
    actor,
    round_: Round,
    tube_barcode: str,
    resident_code: str,
    open_tube: bool = True,
    retest: bool = False,
    scanned: dict | None = _UNSET,
    record: tuple[str, str] | None = None,
) -> ScanOutcome:
    """Swab a roster resident into a tube; the caller holds the transaction.

    The tube's place is taken with one guarded UPDATE (see ``_take_place``), so two samplers
    filling one tube never overfill it; the unique ``(round, resident, is_retest)`` makes a second
    swab of the same person in a round impossible even when two stations race. A refusal raises
    ``ScanRejected`` and the caller's transaction rolls the scan back.

    A retest tube (single, ``retest=True`` when it is opened) takes residents on the round's
    retest list only.

    ``record``: ``(scope, key)`` of an idempotency record to store the 201 answer under, in the
    same statement as the sample and its audit event on PostgreSQL; ``_Replay`` when the key is
    already answered.
    """
    _check_round_open(round_)
    resident = _resolve_resident(round_, resident_code, scanned)
    tube = _place_in_tube(actor=actor, round_=round_, barcode=tube_barcode, open_tube=open_tube, retest=retest)
    retest_rows: list[Retest] = []
    if tube.is_retest:
        retest_rows = list(_pending_retests(round_, resident.pk))
        if not retest_rows:
            raise ScanRejected(MSG_NOT_ON_RETEST, status=422, code="not_on_retest")
    outcome = _resident_outcome(actor, round_, resident, tube)
    sample = outcome.sample
    changes = {"round": round_.pk, "tube": tube.barcode, "fill": tube.fill_count, "retest": tube.is_retest}
    if connection.vendor == "postgresql":
        inserted, recorded = _insert_sample_audited(actor=actor, outcome=outcome, record=record)
    else:
        inserted = _insert_sample(sample)
        recorded = True
    if not inserted:
        first = (
            Sample.objects.filter(round=round_, resident=resident, is_retest=tube.is_retest)
            .values_list("tube__barcode", flat=True)
            .first()
        )
        raise ScanRejected(_msg_duplicate(first or "?"), status=409, code="duplicate")
    if not recorded:
        raise _Replay
    for retest_row in retest_rows:
        # An antigen-positive resident's retest joins the round that swabs them.
        retest_row.round = round_
        retest_row.status = RetestStatus.SAMPLED
        retest_row.retest_sample = sample
        retest_row.save(update_fields=["round", "status", "retest_sample"])
    if connection.vendor != "postgresql":
        audit_record(actor=actor, action="screening.sample", obj=sample, changes=changes)
        if record is not None and not _record_answer(record[0], record[1], 201, outcome.as_dict()):
            raise _Replay
    return outcome


def _pending_retests(round_: Round, resident_id: int):
    """The resident's retests a retest tube of ``round_`` takes: this round's pooled-tube retests,
    and antigen retests of the round's neighbourhood not yet swabbed in any round."""
    return (
        Retest.objects.select_for_update()
        .filter(resident_id=resident_id, status=RetestStatus.PENDING)
        .filter(Q(round=round_) | Q(round__isnull=True, neighbourhood_id=round_.neighbourhood_id))
        .order_by("id")
    )


def _sample_statement(
    *, actor, outcome: ScanOutcome, record: tuple[str, str] | None, take: tuple[int, str] | None
) -> tuple[str, list[Any]]:
    """PostgreSQL: the scan's writes as ONE statement (data-modifying CTEs) — the sample, its audit
    event (as ``audit_record`` writes it) and the idempotency record whose body is the 201 answer.

    ``take=None`` (the transactional path): the tube place is already taken and ``outcome.tube`` is
    it; the sample is ``INSERT … ON CONFLICT DO NOTHING`` so an already swabbed person inserts
    nothing (no audit, no record either), and so does an idempotency key that is already answered.
    The statement returns ``(sample id, recorded)``, or no row.

    ``take=(round_id, barcode)`` (the fast path, one round trip in autocommit): the statement also
    takes the place in the open, not full, not retest tube with the guarded UPDATE of
    ``_take_place`` or, when the round has no such barcode yet, opens the tube with this swab in
    it (and audits the opening as ``tube_open`` does); the sample and the record are not ``ON
    CONFLICT``, so a duplicate person or a replayed key raises ``IntegrityError`` and the whole
    statement, the tube's fill or opening with it, is undone. It returns ``(sample id, true, fill,
    pool size, status, tube id)``, or no row when no place is free (a full, closed or retest tube,
    or a tube a concurrent scan is opening: the transactional path answers those).
    """
    sample = outcome.sample
    qn = connection.ops.quote_name
    ctx = context.current()
    now = timezone.now()
    user = _user(actor)
    params: list[Any] = []
    if take is None:
        tube = outcome.tube
        sql = "WITH t AS (SELECT %s::bigint AS id, %s::int AS fill_count, %s::int AS pool_size, %s::text AS status), "
        params += [tube.pk, tube.fill_count, tube.pool_size, tube.status]
        conflict = " ON CONFLICT DO NOTHING"
        opened_sql, opened_params = "", []
    else:
        round_id, barcode = take
        tube_table = qn(Tube._meta.db_table)
        pool = outcome.tube.pool_size
        sql = (
            # u: a place in the open tube; n: or the tube opened with this first swab in it.
            f"WITH u AS (UPDATE {tube_table} SET fill_count = fill_count + 1, "  # noqa: S608
            "status = CASE WHEN fill_count + 1 >= pool_size THEN %s ELSE status END, "
            "closed_at = CASE WHEN fill_count + 1 >= pool_size THEN %s ELSE closed_at END "
            "WHERE round_id = %s AND barcode = %s AND status = %s AND fill_count < pool_size AND NOT is_retest "
            "RETURNING id, fill_count, pool_size, status), "
            f"n AS (INSERT INTO {tube_table} (round_id, neighbourhood_id, barcode, pool_size, fill_count, status, "
            "is_retest, result, opened_by_id, opened_at, closed_at) "
            "SELECT %s, %s, %s, %s, 1, %s, false, %s, %s, %s, %s WHERE NOT EXISTS (SELECT 1 FROM u) "
            "ON CONFLICT DO NOTHING RETURNING id, fill_count, pool_size, status), "
            "t AS (SELECT * FROM u UNION ALL SELECT * FROM n), "
        )
        params += [TubeStatus.CLOSED, now, round_id, barcode, TubeStatus.OPEN]
        params += [
            round_id,
            outcome.sample.neighbourhood_id,
            barcode,
            pool,
            TubeStatus.CLOSED if pool <= 1 else TubeStatus.OPEN,
            TubeResult.PENDING,
            user.pk if user else None,
            now,
            now if pool <= 1 else None,
        ]
        # The opening's audit row, as ``tube_open`` writes it: first, before the sample's.
        opened_sql = (
            "SELECT 0, %s::timestamptz, %s::bigint, %s::text, 'screening.tube_open', %s::text, n.id::text, "
            "%s::text, %s::bigint, %s::jsonb, %s::text, %s::text, %s::text FROM n UNION ALL "
        )
        opened_params = [
            now,
            user.pk if user else None,
            (user.get_username() if user else str(actor or ""))[:150],
            Tube._meta.label_lower,
            f"{barcode} (0/{pool})",
            outcome.sample.neighbourhood_id,
            json.dumps({"round": round_id, "pool_size": pool, "retest": False}),
            ctx.ip,
            ctx.user_agent,
            ctx.channel,
        ]
        conflict = ""
    sql += (
        f"s AS (INSERT INTO {qn(Sample._meta.db_table)} (round_id, tube_id, neighbourhood_id, building_id, "  # noqa: S608
        "resident_id, kind, is_retest, person_name, person_contact, person_contact_hash, sampled_by_id, sampled_at, "
        f"day) SELECT %s, t.id, %s, %s, %s, %s, %s, '', '', '', %s, %s, %s FROM t{conflict} RETURNING id), "
        # The audit rows in one INSERT, in order (ids follow ``ord``): the opening, then the sample.
        f"a AS (INSERT INTO {qn(AuditEvent._meta.db_table)} (created_at, actor_id, actor_label, action, object_type, "
        "object_id, object_repr, neighbourhood_id, changes, ip, user_agent, channel) "
        "SELECT created_at, actor_id, actor_label, action, object_type, object_id, object_repr, neighbourhood_id, "
        f"changes, ip, user_agent, channel FROM ({opened_sql}"
        "SELECT 1, %s::timestamptz, %s::bigint, %s::text, %s::text, %s::text, s.id::text, "
        "'#' || %s || ' → ' || t.id, %s::bigint, "
        "jsonb_build_object('round', %s::int, 'tube', %s::text, 'fill', t.fill_count, 'retest', %s::boolean), "
        "%s::text, %s::text, %s::text FROM s, t) AS x (ord, created_at, actor_id, actor_label, action, object_type, "
        "object_id, object_repr, neighbourhood_id, changes, ip, user_agent, channel) ORDER BY ord)"
    )
    params += [
        sample.round_id,
        sample.neighbourhood_id,
        sample.building_id,
        sample.resident_id,
        sample.kind,
        sample.is_retest,
        sample.sampled_by_id,
        now,
        sample.round.date,
        *opened_params,
        now,
        user.pk if user else None,
        (user.get_username() if user else str(actor or ""))[:150],
        "screening.sample",
        Sample._meta.label_lower,
        str(sample.resident_id),
        sample.neighbourhood_id,
        sample.round_id,
        outcome.tube.barcode,
        sample.is_retest,
        ctx.ip,
        ctx.user_agent,
        ctx.channel,
    ]
    returning = "s.id, true, t.fill_count, t.pool_size, t.status, t.id FROM s, t"
    if record is not None:
        # The answer as ``ScanOutcome.as_dict`` gives it, with what only the statement knows.
        sql += (
            f", i AS (INSERT INTO {qn(IdempotencyRecord._meta.db_table)} (scope, key, status, body, created_at) "  # noqa: S608
            "SELECT %s, %s, 201, %s::jsonb || jsonb_build_object('sample_id', s.id, 'fill', t.fill_count, "
            "'pool_size', t.pool_size, 'full', t.fill_count >= t.pool_size, 'closed', t.status = %s), %s "
            f"FROM s, t{conflict} RETURNING 1) "
        )
        params += [record[0], record[1], json.dumps(outcome.as_dict()), TubeStatus.CLOSED, now]
        returning = "s.id, EXISTS (SELECT 1 FROM i), t.fill_count, t.pool_size, t.status, t.id FROM s, t"
    return f"{sql} SELECT {returning}", params


def _insert_sample_audited(*, actor, outcome: ScanOutcome, record: tuple[str, str] | None) -> tuple[bool, bool]:
    """PostgreSQL: the sample, its audit event and the idempotency record in one statement (see
    ``_sample_statement``), the scan's last round trip. Returns (sample inserted, answer recorded —
    False when the idempotency key was already answered)."""
    sql, params = _sample_statement(actor=actor, outcome=outcome, record=record, take=None)
    with rawsql.hot_cursor(connection) as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    if row is None:
        return False, False
    sample = outcome.sample
    sample.pk = row[0]
    sample.sampled_at = timezone.now()
    sample._state.adding = False
    return True, bool(row[1])


def _sample_scan_fast(
    *, actor, round_: Round, tube_barcode: str, resident_code: str, scanned: dict | None, record
) -> ScanOutcome | None:
    """PostgreSQL, the scanner's normal case — a roster resident into an open tube that has room —
    in ONE statement and one round trip, without BEGIN/COMMIT (see ``_sample_statement``).

    The checks that need no database run first and refuse as ``_sample_scan`` does. None: the
    statement changed nothing (no such open place, a duplicate person, a replayed key) and the
    transactional ``_sample_scan`` must answer — it finds the exact reason, opens a new tube, or
    replays the stored answer.
    """
    _check_round_open(round_)
    resident = _resolve_resident(round_, resident_code, scanned)
    barcode = _clean_barcode(tube_barcode)
    tube = Tube(
        round=round_,
        neighbourhood_id=round_.neighbourhood_id,
        barcode=barcode,
        pool_size=round_.pool_size,
        status=TubeStatus.OPEN,
    )
    outcome = _resident_outcome(actor, round_, resident, tube)
    sample = outcome.sample
    sql, params = _sample_statement(actor=actor, outcome=outcome, record=record, take=(round_.pk, barcode))
    try:
        if connection.in_atomic_block:  # inside a caller's transaction: undo only this statement
            with transaction.atomic(), rawsql.hot_cursor(connection) as cur:
                cur.execute(sql, params)
                row = cur.fetchone()
        else:  # autocommit: the statement is its own transaction
            with rawsql.hot_cursor(connection) as cur:
                cur.execute(sql, params)
                row = cur.fetchone()
    except IntegrityError:
        return None
    if row is None:
        return None
    sample.pk, _recorded, tube.fill_count, tube.pool_size, tube.status, tube.pk = row
    tube._state.adding = False
    sample.tube = tube
    sample.sampled_at = timezone.now()
    sample._state.adding = False
    return outcome


def _mask_contact(contact: str) -> str:
    contact = (contact or "").strip().replace(" ", "")
    if not contact:
        return ""
    if len(contact) >= 15:
        return mask_id_number(contact.upper())
    return mask_phone(contact)


@transaction.atomic
def sample_scan_person(
    *,
    actor,
    round_: Round,
    tube_barcode: str,
    name: str,
    contact: str = "",
    kind: str = SampleKind.VISITOR,
    open_tube: bool = True,
) -> ScanOutcome:
    """Swab someone not on the roster (a visitor, a worker): name and a phone or ID number, kept
    masked with a keyed hash so the same person is not swabbed twice in a round."""
    _check_round_open(round_)
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["请填写姓名"]
    if kind not in (SampleKind.VISITOR, SampleKind.WORKER):
        errors["kind"] = ["人员类型应为访客或工作人员"]
    clean_contact = (contact or "").strip().replace(" ", "").upper()
    if clean_contact and not re.match(r"^[0-9A-Z-]{6,20}$", clean_contact):
        errors["contact"] = ["请填写手机号或证件号"]
    if errors:
        raise ValidationError(errors)
    contact_hash = crypto.keyed_hash(clean_contact)
    if contact_hash:
        first = Sample.objects.filter(round=round_, person_contact_hash=contact_hash).select_related("tube").first()
        if first is not None:
            raise ScanRejected(_msg_duplicate(first.tube.barcode), status=409, code="duplicate")
    tube = _place_in_tube(actor=actor, round_=round_, barcode=tube_barcode, open_tube=open_tube, retest=False)
    sample = Sample.objects.create(
        round=round_,
        tube=tube,
        neighbourhood_id=round_.neighbourhood_id,
        kind=kind,
        person_name=name[:64],
        person_contact=_mask_contact(clean_contact),
        person_contact_hash=contact_hash,
        sampled_by=_user(actor),
    )
    audit_record(
        actor=actor,
        action="screening.sample",
        obj=sample,
        changes={"round": round_.pk, "tube": tube.barcode, "fill": tube.fill_count, "kind": kind},
    )
    return ScanOutcome(tube=tube, sample=sample, name=name)


def error_body(exc: ValidationError) -> tuple[int, dict]:
    if isinstance(exc, ScanRejected):
        return exc.status, {"detail": exc.message_text, "code": exc.code, "errors": []}
    if hasattr(exc, "error_dict"):
        errors = [{"field": f, "message": m} for f, msgs in exc.message_dict.items() for m in msgs]
    else:
        errors = [{"field": "__all__", "message": m} for m in exc.messages]
    return 422, {"detail": "输入有误", "code": "invalid", "errors": errors}


def idempotency_scope(actor, round_: Round) -> str:
    return f"screening.sample:{getattr(actor, 'pk', '-')}:{round_.pk}"


def sample_scan_one(
    *,
    actor,
    round_: Round,
    tube: str,
    resident_code: str,
    idempotency_key: str = "",
    retest: bool = False,
    scanned: dict | None = _UNSET,
) -> tuple[int, dict]:
    """One scan answered as ``(status, body)`` (201 or the error), stored once per idempotency key.

    The same contract as ``core.idempotency.run_idempotent``, arranged for the hot path: the scan
    runs first and its answer is recorded in the same transaction with ``INSERT … ON CONFLICT DO
    NOTHING``; only when that finds the key taken (a retry), or the scan is refused (a retry of a
    scan that went through is refused as a duplicate or a full tube), is the stored answer read —
    and the retry's own writes are rolled back, so nothing is stored twice. The normal scan with a
    key costs one INSERT and no lookup.

    On PostgreSQL the normal scan (a resident read with the round, an open tube with room) is one
    statement in autocommit — tube place, sample, audit event and answer (``_sample_scan_fast``);
    anything else falls through to the transactional path, which gives the exact answer.
    """
    from jiayuan.core.idempotency import MAX_KEY_LENGTH

    key = (idempotency_key or "")[:MAX_KEY_LENGTH]
    scope = idempotency_scope(actor, round_)[:200]
    record = (scope, key) if key else None
    scan = {
        "actor": actor,
        "round_": round_,
        "tube_barcode": tube,
        "resident_code": resident_code,
        "scanned": scanned,
        "record": record,
    }
    try:
        outcome = None
        if connection.vendor == "postgresql" and scanned is not _UNSET and not retest:
            outcome = _sample_scan_fast(**scan)
        if outcome is None:
            with transaction.atomic():
                outcome = _sample_scan(**scan, retest=retest)
        return 201, outcome.as_dict()
    except (ValidationError, _Replay, IntegrityError) as exc:
        if key:
            stored = IdempotencyRecord.objects.filter(scope=scope, key=key).values_list("status", "body").first()
            if stored is not None:
                return stored[0], stored[1]
        if isinstance(exc, ValidationError):
            return error_body(exc)
        raise


class _Replay(Exception):
    """The idempotency key is already answered: roll this attempt back and replay that answer."""


def _record_answer(scope: str, key: str, status: int, body: dict) -> bool:
    """Store the answer for ``(scope, key)``; False when a first answer already holds the key."""
    qn = connection.ops.quote_name
    body_field = IdempotencyRecord._meta.get_field("body")
    created_field = IdempotencyRecord._meta.get_field("created_at")
    with rawsql.hot_cursor(connection) as cur:
        cur.execute(
            f"INSERT INTO {qn(IdempotencyRecord._meta.db_table)} "  # noqa: S608 - names from the model
            f"({qn('scope')}, {qn('key')}, {qn('status')}, {qn('body')}, {qn('created_at')}) "
            "VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING id",
            [
                scope,
                key,
                status,
                body_field.get_db_prep_save(body, connection),
                created_field.get_db_prep_save(timezone.now(), connection),
            ],
        )
        return cur.fetchone() is not None


def sample_scan_batch(*, actor, round_: Round, items: list[dict]) -> list[tuple[int, dict]]:
    """Many scans in one transaction, answered item by item: one bad item spoils nothing else.

    Fast path (the scanner's normal case): codes, residents, existing samples, tubes and stored
    idempotent answers are read in a handful of set queries, the tubes locked once each, the new
    samples, audit events and idempotency records inserted in bulk — on PostgreSQL in two
    statements whatever the batch's size (``_batch_pg``), elsewhere through the ORM
    (``_batch_fast``). If a concurrent writer beats us to a unique key, the whole batch is redone
    item by item through ``sample_scan_one``.
    """
    if not items:
        return []
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                return _batch_pg(actor=actor, round_=round_, items=items)
            return _batch_fast(actor=actor, round_=round_, items=items)
    except IntegrityError:
        pass
    except _SlowPath:
        pass
    with transaction.atomic():
        return [
            sample_scan_one(
                actor=actor,
                round_=round_,
                tube=item.get("tube", ""),
                resident_code=item.get("resident_code", ""),
                idempotency_key=item.get("idempotency_key") or "",
                retest=bool(item.get("retest")),
            )
            for item in items
        ]


class _SlowPath(Exception):
    pass


def _valid_barcodes(items: list[dict]) -> set[str]:
    return {b for b in ((item.get("tube") or "").strip() for item in items) if BARCODE_RE.match(b)}


def _batch_fast(*, actor, round_: Round, items: list[dict]) -> list[tuple[int, dict]]:
    from jiayuan.core.idempotency import MAX_KEY_LENGTH

    if any(item.get("retest") for item in items):
        raise _SlowPath
    scope = idempotency_scope(actor, round_)[:200]
    keys = [((item.get("idempotency_key") or "")[:MAX_KEY_LENGTH]) for item in items]
    stored = {
        k: (s, b)
        for k, s, b in IdempotencyRecord.objects.filter(scope=scope, key__in=[k for k in keys if k]).values_list(
            "key", "status", "body"
        )
    }
    answers: list[tuple[int, dict] | None] = [None] * len(items)
    try:
        _check_round_open(round_)
    except ScanRejected as exc:
        return [stored[k] if k in stored else error_body(exc) for k in keys]

    # Residents, in one query.
    ids: list[int | None] = [parse_sampling_code(item.get("resident_code", "")) for item in items]
    residents = {
        r.pk: r
        for r in Resident.objects.filter(pk__in=[i for i in ids if i])
        .only("id", "name", "neighbourhood_id", "household_id", "household__building_id")
        .select_related("household")
    }
    already = dict(
        Sample.objects.filter(round=round_, resident_id__in=list(residents), is_retest=False).values_list(
            "resident_id", "tube__barcode"
        )
    )
    # Tubes, opened in bulk if new, then locked once each (in barcode order, so two batches
    # never deadlock).
    barcodes = sorted({(item.get("tube") or "").strip() for item in items} & _valid_barcodes(items))
    user = _user(actor)
    known = set(Tube.objects.filter(round=round_, barcode__in=barcodes).values_list("barcode", flat=True))
    new_barcodes = [b for b in barcodes if b not in known]
    if new_barcodes:
        Tube.objects.bulk_create(
            [
                Tube(
                    round=round_,
                    neighbourhood_id=round_.neighbourhood_id,
                    barcode=b,
                    pool_size=round_.pool_size,
                    opened_by=user,
                )
                for b in new_barcodes
            ],
            ignore_conflicts=True,  # a concurrent batch may open the same tube: either row will do
        )
    tubes = {
        t.barcode: t
        for t in Tube.objects.select_for_update().filter(round=round_, barcode__in=barcodes).order_by("barcode")
    }
    if any(t.is_retest for t in tubes.values()):
        raise _SlowPath

    now = timezone.now()
    new_samples: list[tuple[int, Sample, Tube, str]] = []
    seen_in_batch: dict[int, str] = {}
    changed: set[str] = set()
    for i, item in enumerate(items):
        if keys[i] and keys[i] in stored:
            answers[i] = stored[keys[i]]
            continue
        try:
            barcode = _clean_barcode(item.get("tube", ""))
            if ids[i] is None or ids[i] not in residents:
                raise ScanRejected(MSG_UNKNOWN_CODE, status=404, code="unknown_code")
            resident = residents[ids[i]]
            if resident.neighbourhood_id != round_.neighbourhood_id:
                raise ScanRejected(MSG_NOT_IN_ROUND, status=422, code="not_in_round")
            tube = tubes[barcode]
            if tube.status != TubeStatus.OPEN:
                raise ScanRejected(MSG_TUBE_CLOSED, status=409, code="tube_closed")
            if tube.fill_count >= tube.pool_size:
                raise ScanRejected(MSG_TUBE_FULL, status=409, code="tube_full")
            if resident.pk in already or resident.pk in seen_in_batch:
                raise ScanRejected(
                    _msg_duplicate(already.get(resident.pk) or seen_in_batch[resident.pk]), status=409, code="duplicate"
                )
        except ScanRejected as exc:
            answers[i] = error_body(exc)
            continue
        seen_in_batch[resident.pk] = barcode
        tube.fill_count += 1
        if tube.fill_count >= tube.pool_size:
            tube.status = TubeStatus.CLOSED
            tube.closed_at = now
        changed.add(barcode)
        sample = Sample(
            round=round_,
            tube=tube,
            neighbourhood_id=round_.neighbourhood_id,
            building_id=resident.household.building_id if resident.household_id else None,
            resident=resident,
            kind=SampleKind.RESIDENT,
            sampled_by=user,
        )
        new_samples.append((i, sample, tube, resident.name))
        answers[i] = (0, {"fill": tube.fill_count})  # filled in below

    created = Sample.objects.bulk_create([s for _i, s, _t, _n in new_samples])
    if changed:
        Tube.objects.bulk_update([tubes[b] for b in sorted(changed)], ["fill_count", "status", "closed_at"])
    audit_rows = [
        audit_event(
            actor=actor,
            action="screening.tube_open",
            obj=tubes[b],
            neighbourhood_id=round_.neighbourhood_id,
            changes={"round": round_.pk, "pool_size": tubes[b].pool_size, "retest": False, "batch": True},
        )
        for b in new_barcodes
        if b in tubes and tubes[b].opened_by_id == (user.pk if user else None)
    ]
    records = []
    for (i, _s, tube, name), sample in zip(new_samples, created, strict=True):
        fill = answers[i][1]["fill"]  # type: ignore[index]
        body = {
            "sample_id": sample.pk,
            "tube": tube.barcode,
            "fill": fill,
            "pool_size": tube.pool_size,
            "full": fill >= tube.pool_size,
            "closed": fill >= tube.pool_size,
            "resident": sample.resident_id,
            "name": mask_name(name),
            "retest": False,
        }
        answers[i] = (201, body)
        audit_rows.append(
            audit_event(
                actor=actor,
                action="screening.sample",
                obj=sample,
                neighbourhood_id=round_.neighbourhood_id,
                changes={"round": round_.pk, "tube": tube.barcode, "fill": fill, "retest": False, "batch": True},
            )
        )
        if keys[i]:
            records.append(IdempotencyRecord(scope=scope, key=keys[i], status=201, body=body))
    AuditEvent.objects.bulk_create(audit_rows)
    if records:
        IdempotencyRecord.objects.bulk_create(records)
    return [a for a in answers if a is not None]


# The batch on PostgreSQL: two statements whatever the batch's size, the items sent as one JSON
# document each way (``json.dumps`` and ``jsonb_to_recordset``: no per-value adaptation in
# Python), the decisions in between made in Python exactly as ``_batch_fast`` makes them.
_BATCH_READ_SQL = None
_BATCH_WRITE_SQL = None


def _batch_sql() -> tuple[str, str]:
    """The read and the write statement of ``_batch_pg`` (names from the models, built once)."""
    global _BATCH_READ_SQL, _BATCH_WRITE_SQL
    if _BATCH_READ_SQL is None:
        qn = connection.ops.quote_name
        tube = qn(Tube._meta.db_table)
        sample = qn(Sample._meta.db_table)
        resident = qn(Resident._meta.db_table)
        household = qn(Household._meta.db_table)
        record = qn(IdempotencyRecord._meta.db_table)
        audit = qn(AuditEvent._meta.db_table)
        tube_cols = "id, barcode, fill_count, pool_size, status, is_retest"
        _BATCH_READ_SQL = (
            # x: the items (resident id, valid barcode, idempotency key); n: the tubes this batch
            # opens, in barcode order; e: the round's other tubes it names, locked in barcode order.
            # Every lookup is ``= ANY (ARRAY (…))`` so that it probes the unique index with the whole
            # key: the prepared statement's plan must not scan a round's samples or a sampler's
            # answers, however small the table was when it was planned.
            "WITH x AS (SELECT * FROM jsonb_to_recordset(%s::jsonb) AS x (r bigint, b text, k text)), "  # noqa: S608
            f"n AS (INSERT INTO {tube} (round_id, neighbourhood_id, barcode, pool_size, fill_count, status, "
            "is_retest, result, opened_by_id, opened_at, closed_at) "
            "SELECT %s, %s, d.b, %s, 0, %s, false, %s, %s, %s, NULL "
            "FROM (SELECT DISTINCT b FROM x WHERE b IS NOT NULL ORDER BY b) AS d "
            f"ON CONFLICT DO NOTHING RETURNING {tube_cols}), "
            f"e AS (SELECT {tube_cols} FROM {tube} WHERE round_id = %s AND barcode = ANY (ARRAY (SELECT b FROM x)) "
            "ORDER BY barcode FOR UPDATE) "
            "SELECT "
            f"(SELECT coalesce(json_agg(json_build_array({tube_cols}, true)), '[]') FROM n), "
            f"(SELECT coalesce(json_agg(json_build_array({tube_cols}, false)), '[]') FROM e), "
            "(SELECT coalesce(json_agg(json_build_array(r.id, r.name, r.neighbourhood_id, h.building_id)), '[]') "
            f"FROM {resident} r LEFT JOIN {household} h ON h.id = r.household_id "
            "WHERE r.id = ANY (ARRAY (SELECT x.r FROM x))), "
            "(SELECT coalesce(json_agg(json_build_array(s.resident_id, t.barcode)), '[]') "
            f"FROM {sample} s JOIN {tube} t ON t.id = s.tube_id "
            "WHERE s.round_id = %s AND s.resident_id = ANY (ARRAY (SELECT x.r FROM x)) "
            "AND NOT s.is_retest AND s.day = %s), "
            "(SELECT coalesce(json_agg(json_build_array(key, status, body)), '[]') "
            f"FROM {record} WHERE scope = %s AND key = ANY (ARRAY (SELECT x.k FROM x WHERE x.k <> '')))"
        )
        _BATCH_WRITE_SQL = (
            # x: the accepted items; v: each changed tube's new fill (and whether it closes);
            # o: the tubes this batch opened (audited first, as ``tube_open`` would).
            "WITH x AS (SELECT * FROM jsonb_to_recordset(%s::jsonb) "  # noqa: S608
            "AS x (o int, t bigint, r bigint, bl bigint, tb text, f int, k text, body jsonb)), "
            "v AS (SELECT * FROM jsonb_to_recordset(%s::jsonb) AS v (id bigint, f int, c boolean)), "
            "o AS (SELECT * FROM jsonb_to_recordset(%s::jsonb) AS o (id bigint, b text)), "
            f"u AS (UPDATE {tube} SET fill_count = v.f, status = CASE WHEN v.c THEN %s ELSE status END, "
            "closed_at = CASE WHEN v.c THEN %s::timestamptz ELSE closed_at END "
            f"FROM v WHERE {tube}.id = v.id AND {tube}.id = ANY (ARRAY (SELECT v.id FROM v))), "
            f"s AS (INSERT INTO {sample} (round_id, tube_id, neighbourhood_id, building_id, resident_id, kind, "
            "is_retest, person_name, person_contact, person_contact_hash, sampled_by_id, sampled_at, day) "
            "SELECT %s, x.t, %s, x.bl, x.r, %s, false, '', '', '', %s, %s, %s FROM x ORDER BY x.o "
            "RETURNING id, resident_id), "
            "xs AS (SELECT x.*, s.id AS sid FROM x JOIN s ON s.resident_id = x.r), "
            f"a AS (INSERT INTO {audit} (created_at, actor_id, actor_label, action, object_type, object_id, "
            "object_repr, neighbourhood_id, changes, ip, user_agent, channel) "
            "SELECT %s, %s, %s, y.action, y.object_type, y.object_id, y.object_repr, %s, y.changes, %s, %s, %s "
            "FROM (SELECT 0 AS g, o.id AS n, 'screening.tube_open' AS action, %s AS object_type, "
            "o.id::text AS object_id, o.b || ' (0/' || %s::int || ')' AS object_repr, "
            "jsonb_build_object('round', %s::bigint, 'pool_size', %s::int, 'retest', false, 'batch', true) "
            "AS changes FROM o "
            "UNION ALL SELECT 1, xs.o, 'screening.sample', %s, xs.sid::text, '#' || xs.r || ' → ' || xs.t, "
            "jsonb_build_object('round', %s::bigint, 'tube', xs.tb, 'fill', xs.f, 'retest', false, 'batch', true) "
            "FROM xs) AS y ORDER BY y.g, y.n), "
            f"i AS (INSERT INTO {record} (scope, key, status, body, created_at) "
            "SELECT %s, xs.k, 201, xs.body || jsonb_build_object('sample_id', xs.sid), %s FROM xs WHERE xs.k <> '') "
            "SELECT coalesce(json_agg(json_build_array(xs.o, xs.sid)), '[]') FROM xs"
        )
    return _BATCH_READ_SQL, _BATCH_WRITE_SQL


def _batch_pg(*, actor, round_: Round, items: list[dict]) -> list[tuple[int, dict]]:
    """``_batch_fast`` on PostgreSQL in two statements (see ``_batch_sql``): one opens the batch's
    new tubes, locks the others and reads residents, earlier samples and stored answers; one writes
    the samples, the tubes' fills, the audit events and the idempotency records. The caller holds
    the transaction; a unique key taken by a concurrent writer raises ``IntegrityError`` and a tube
    the statement could not see (opened by a concurrent batch that committed after it started)
    raises ``_SlowPath``: the caller redoes the batch item by item."""
    from jiayuan.core.idempotency import MAX_KEY_LENGTH

    if any(item.get("retest") for item in items):
        raise _SlowPath
    read_sql, write_sql = _batch_sql()
    scope = idempotency_scope(actor, round_)[:200]
    keys: list[str] = []
    barcodes: list[str | None] = []
    ids: list[int | None] = []
    for item in items:
        keys.append((item.get("idempotency_key") or "")[:MAX_KEY_LENGTH])
        barcode = (item.get("tube") or "").strip()
        barcodes.append(barcode if BARCODE_RE.match(barcode) else None)
        ids.append(parse_sampling_code(item.get("resident_code", "")))
    user = _user(actor)
    user_id = user.pk if user else None
    now = timezone.now()
    nb_id = round_.neighbourhood_id
    pool = round_.pool_size
    doc = json.dumps([{"r": r, "b": b, "k": k} for r, b, k in zip(ids, barcodes, keys, strict=True)])
    with rawsql.hot_cursor(connection) as cur:
        cur.execute(
            read_sql,
            [
                doc,
                round_.pk,
                nb_id,
                pool,
                TubeStatus.OPEN,
                TubeResult.PENDING,
                user_id,
                now,
                round_.pk,
                round_.pk,
                round_.date,
                scope,
            ],
        )
        opened, existing, resident_rows, sampled, stored_rows = cur.fetchone()
    tubes = {row[1]: row for row in (*opened, *existing)}  # barcode → [id, barcode, fill, pool, status, retest, new]
    if any(row[5] for row in tubes.values()) or any(b is not None and b not in tubes for b in barcodes):
        raise _SlowPath
    residents = {row[0]: row for row in resident_rows}  # id → [id, name, neighbourhood, building]
    already = dict(sampled)
    stored = {key: (status, body) for key, status, body in stored_rows}
    try:
        _check_round_open(round_)
    except ScanRejected as exc:
        return [stored[k] if k in stored else error_body(exc) for k in keys]

    answers: list[tuple[int, dict]] = []
    accepted: list[dict] = []
    fills: dict[str, int] = {}
    seen_in_batch: dict[int, str] = {}
    for i, (rid, barcode, key) in enumerate(zip(ids, barcodes, keys, strict=True)):
        if key and key in stored:
            answers.append(stored[key])
            continue
        try:
            if barcode is None:
                raise ScanRejected(MSG_BAD_BARCODE, status=422, code="bad_barcode")
            resident = residents.get(rid) if rid is not None else None
            if resident is None:
                raise ScanRejected(MSG_UNKNOWN_CODE, status=404, code="unknown_code")
            if resident[2] != nb_id:
                raise ScanRejected(MSG_NOT_IN_ROUND, status=422, code="not_in_round")
            tube = tubes[barcode]
            fill = fills.get(barcode, tube[2])
            if tube[4] != TubeStatus.OPEN or (barcode in fills and fill >= tube[3]):  # closed, or by this batch
                raise ScanRejected(MSG_TUBE_CLOSED, status=409, code="tube_closed")
            if fill >= tube[3]:
                raise ScanRejected(MSG_TUBE_FULL, status=409, code="tube_full")
            if rid in already or rid in seen_in_batch:
                raise ScanRejected(_msg_duplicate(already.get(rid) or seen_in_batch[rid]), status=409, code="duplicate")
        except ScanRejected as exc:
            answers.append(error_body(exc))
            continue
        seen_in_batch[rid] = barcode
        fill += 1
        fills[barcode] = fill
        full = fill >= tube[3]
        body = {
            "tube": barcode,
            "fill": fill,
            "pool_size": tube[3],
            "full": full,
            "closed": full,
            "resident": rid,
            "name": mask_name(resident[1]),
            "retest": False,
        }
        answers.append((201, body))
        accepted.append(
            {"o": i, "t": tube[0], "r": rid, "bl": resident[3], "tb": barcode, "f": fill, "k": key, "body": body}
        )
    new_tubes = [{"id": row[0], "b": row[1]} for row in opened]
    if not accepted and not new_tubes:
        return answers
    changed = [{"id": tubes[b][0], "f": f, "c": f >= tubes[b][3]} for b, f in sorted(fills.items())]
    ctx = context.current()
    label = (user.get_username() if user else str(actor or ""))[:150]
    with rawsql.hot_cursor(connection) as cur:
        cur.execute(
            write_sql,
            [
                json.dumps(accepted),
                json.dumps(changed),
                json.dumps(new_tubes),
                TubeStatus.CLOSED,
                now,
                round_.pk,
                nb_id,
                SampleKind.RESIDENT,
                user_id,
                now,
                round_.date,
                now,
                user_id,
                label,
                nb_id,
                ctx.ip,
                ctx.user_agent,
                ctx.channel,
                Tube._meta.label_lower,
                pool,
                round_.pk,
                pool,
                Sample._meta.label_lower,
                round_.pk,
                scope,
                now,
            ],
        )
        (sample_ids,) = cur.fetchone()
    for index, sample_id in sample_ids:
        body = answers[index][1]
        answers[index] = (201, {"sample_id": sample_id, **body})
    return answers


# --- Results --------------------------------------------------------------------------------------


@dataclass
class ResultOutcome:
    tube: Tube
    changed: bool
    retests: int = 0


MSG_RESULT_CONFLICT = "该试管已有结果({old}), 不能改为{new}; 如需更正请联系居委会负责人"


@transaction.atomic
def tube_result_record(*, actor, round_: Round, barcode: str, result: str) -> ResultOutcome:
    """Record a tube's lab result and fan it out.

    - pooled tube (pool size > 1) positive: every member goes on the retest list under temporary
      home control, and ``screening.pool_positive`` is published;
    - tube of one positive: ``screening.positive`` for that resident;
    - individual retest tube: positive → ``screening.positive``; negative → the member's home
      control ends and ``screening.retest_negative`` is published.

    The same result twice changes nothing; a different result for a tube that has one is refused.
    """
    barcode = (barcode or "").strip()
    if result not in (TubeResult.NEGATIVE, TubeResult.POSITIVE):
        raise ScanRejected("结果应为阴性或阳性", status=422, code="bad_result")
    tube = Tube.objects.select_for_update().filter(round=round_, barcode=barcode).first()
    if tube is None:
        raise ScanRejected(f"本轮没有试管 {barcode}" if barcode else "请填写试管条码", status=404, code="unknown_tube")
    if tube.status != TubeStatus.CLOSED:
        raise ScanRejected(f"试管 {barcode} 尚未封管, 不能录入结果", status=409, code="tube_open")
    if tube.result == result:
        return ResultOutcome(tube=tube, changed=False)
    if tube.result != TubeResult.PENDING:
        raise ScanRejected(
            MSG_RESULT_CONFLICT.format(old=tube.get_result_display(), new=TubeResult(result).label),
            status=409,
            code="result_conflict",
        )
    tube.result = result
    tube.result_at = timezone.now()
    tube.save(update_fields=["result", "result_at"])
    audit_record(actor=actor, action="screening.tube_result", obj=tube, changes={"result": result, "round": round_.pk})
    samples = list(tube.samples.select_related("resident"))
    today = timezone.localdate()
    ref = _ref(round_, tube)
    retests = 0
    if tube.is_retest:
        for sample in samples:
            rows = list(Retest.objects.select_for_update().filter(retest_sample=sample).order_by("id"))
            if not rows:
                continue
            for row in rows:
                if row.status == RetestStatus.CONFIRMED:
                    continue  # staff confirmed the antigen result meanwhile: the case is open
                row.status = RetestStatus.POSITIVE if result == TubeResult.POSITIVE else RetestStatus.NEGATIVE
                row.resolved_at = timezone.now()
                if result == TubeResult.NEGATIVE:
                    row.home_control = False
                row.save(update_fields=["status", "resolved_at", "home_control"])
                audit_record(actor=actor, action="screening.retest_result", obj=row, changes={"result": result})
            if sample.resident_id:
                if result == TubeResult.POSITIVE:
                    publish(
                        "screening.positive",
                        resident=sample.resident,
                        detected_on=today,
                        source="pcr",
                        actor=actor,
                        ref=ref + " 单采复核",
                    )
                else:
                    publish("screening.retest_negative", resident=sample.resident, actor=actor, ref=ref)
    elif result == TubeResult.POSITIVE and tube.pool_size == 1:
        for sample in samples:
            if sample.resident_id:
                publish(
                    "screening.positive",
                    resident=sample.resident,
                    detected_on=today,
                    source="pcr",
                    actor=actor,
                    ref=ref,
                )
    elif result == TubeResult.POSITIVE:
        rows = [
            Retest(
                round=round_,
                neighbourhood_id=round_.neighbourhood_id,
                building_id=s.building_id,
                resident_id=s.resident_id,
                sample=s,
                source_tube=tube,
                home_control=True,
            )
            for s in samples
        ]
        Retest.objects.bulk_create(rows)
        retests = len(rows)
        audit_record(
            actor=actor,
            action="screening.retest_list",
            obj=tube,
            changes={"members": retests, "home_control": True},
        )
        residents = [s.resident for s in samples if s.resident_id]
        publish("screening.pool_positive", residents=residents, detected_on=today, actor=actor, ref=ref)
    return ResultOutcome(tube=tube, changed=True, retests=retests)


def tube_result_one(*, actor, round_: Round, barcode: str, result: str) -> tuple[int, dict]:
    """One result as ``(status, body)``, in its own savepoint (for item-by-item answers)."""
    try:
        with transaction.atomic():
            outcome = tube_result_record(actor=actor, round_=round_, barcode=barcode, result=result)
    except ValidationError as exc:
        return error_body(exc)
    return 200, {
        "tube": outcome.tube.barcode,
        "result": outcome.tube.result,
        "changed": outcome.changed,
        "retests": outcome.retests,
    }


@transaction.atomic
def tube_results_record_many(*, actor, round_: Round, items: list[tuple[str, str]]) -> list[tuple[int, dict]]:
    """Many ``(barcode, result)`` at once, answered item by item as ``tube_result_one`` would.

    A lab sends thousands of results in one file, nearly all negative: those are written in a few
    statements whatever their number (the tubes locked and read in one query, one UPDATE per
    result, the audit rows in one INSERT). A result that fans out (a positive, or any retest tube)
    goes through ``tube_result_record`` in its own savepoint, as before.
    """
    answers: list[tuple[int, dict] | None] = [None] * len(items)
    barcodes = [(b or "").strip() for b, _r in items]
    seen = Counter(barcodes)
    tubes = {
        t.barcode: t for t in Tube.objects.select_for_update().filter(round=round_, barcode__in=set(barcodes) - {""})
    }
    negatives: list[Tube] = []  # every other result fans out and goes the one-by-one way
    for i, (barcode, (_raw, result)) in enumerate(zip(barcodes, items, strict=True)):
        tube = tubes.get(barcode)
        simple = (
            tube is not None
            and seen[barcode] == 1  # a tube named twice is answered in order, one by one
            and tube.status == TubeStatus.CLOSED
            and tube.result == TubeResult.PENDING
            and not tube.is_retest
            and result == TubeResult.NEGATIVE
        )
        if not simple:
            answers[i] = tube_result_one(actor=actor, round_=round_, barcode=barcode, result=result)
            continue
        negatives.append(tube)
        answers[i] = (200, {"tube": barcode, "result": result, "changed": True, "retests": 0})
    if negatives:
        Tube.objects.filter(pk__in=[t.pk for t in negatives]).update(
            result=TubeResult.NEGATIVE, result_at=timezone.now()
        )
    audit_rows = [
        audit_event(
            actor=actor,
            action="screening.tube_result",
            obj=t,
            neighbourhood_id=round_.neighbourhood_id,
            changes={"result": TubeResult.NEGATIVE, "round": round_.pk},
        )
        for t in negatives
    ]
    AuditEvent.objects.bulk_create(audit_rows, batch_size=1000)
    return [a for a in answers if a is not None]


# --- Antigen self-reports -------------------------------------------------------------------------


def check_photo(photo) -> None:
    if photo is None:
        return
    if photo.size > PHOTO_MAX_BYTES:
        raise ValidationError({"photo": ["照片不能超过5MB"]})
    content_type = getattr(photo, "content_type", "") or ""
    if content_type and content_type not in PHOTO_TYPES:
        raise ValidationError({"photo": ["请上传 JPG/PNG/WEBP/HEIC 照片"]})


def antigen_photo_open(*, actor, report: AntigenReport):
    """Open a report's photo for a staff user who may see the report; the read is audited (a photo
    of a test result is health data). Returns ``(file, content_type)``; ``Http404`` without one."""
    if not report.photo:
        raise Http404
    try:
        handle = report.photo.open("rb")
    except OSError as exc:
        raise Http404 from exc
    audit_record(actor=actor, action="screening.antigen_photo_view", obj=report)
    return handle, mimetypes.guess_type(report.photo.name)[0] or "application/octet-stream"


@transaction.atomic
def antigen_report_submit(
    *,
    actor,
    resident: Resident,
    date: dt.date,
    result: str,
    photo=None,
    channel: str = ReportChannel.HOUSEHOLD,
) -> tuple[AntigenReport, bool]:
    """Record one resident's antigen result for a day; a second report the same day replaces the
    first (audited as an update). Returns the report and whether it was created.

    A new positive is not a case by itself: the resident joins the retest list (an antigen
    ``Retest``, unless one is still pending or the resident already has an open case) and
    ``screening.antigen_positive`` is published, on which control keeps the resident (and the
    household, per the policy) home under 抗原阳性待核酸复核. The case opens on a positive PCR
    retest or when staff confirm the report (``antigen_report_confirm``)."""
    errors: dict[str, list[str]] = {}
    if result not in AntigenResult.values:
        errors["result"] = ["结果应为阴性、阳性或无效"]
    today = timezone.localdate()
    if date > today:
        errors["date"] = ["不能填报未来的日期"]
    elif (today - date).days > 7:
        errors["date"] = ["只能填报最近7天的结果"]
    if errors:
        raise ValidationError(errors)
    check_photo(photo)
    # Lock the resident so two reports for the same person and day are serialised.
    Resident.objects.select_for_update().filter(pk=resident.pk).values_list("pk", flat=True).first()
    report = AntigenReport.objects.filter(resident=resident, date=date).first()
    created = report is None
    before = None if created else report.result
    if created:
        report = AntigenReport(
            neighbourhood_id=resident.neighbourhood_id,
            building_id=resident.household.building_id if resident.household_id else None,
            resident=resident,
            date=date,
        )
    report.result = result
    report.channel = channel
    report.reported_by = _user(actor)
    if photo is not None and report.photo:
        # The replaced photo is health data too: its file goes once the new one is committed.
        _delete_files_on_commit([report.photo.name])
    if photo is not None:
        report.photo.save(f"r{resident.pk}-{date:%Y%m%d}-{photo.name[-20:]}", photo, save=False)
    try:
        report.save()
        audit_record(
            actor=actor if actor is not None else "household-link",
            action="screening.antigen_report" if created else "screening.antigen_report_update",
            obj=report,
            changes={"result": result, "before": before, "channel": channel, "photo": bool(photo)},
        )
        if result == AntigenResult.POSITIVE and before != AntigenResult.POSITIVE:
            _antigen_positive(actor=actor, report=report, resident=resident)
    except BaseException:
        # The report rolls back: the photo file just written must not stay behind, unreferenced.
        if photo is not None:
            with contextlib.suppress(OSError):
                report.photo.storage.delete(report.photo.name)
        raise
    return report, created


def antigen_report_fast(
    *,
    household_id: int | None = None,
    resident_id: int,
    date: dt.date,
    result: str,
    channel: str = ReportChannel.HOUSEHOLD,
    link: tuple[int, str] | None = None,
) -> str | None:
    """A household's first negative or invalid report of the day for one of its residents, in ONE
    statement (PostgreSQL; ADR 0019): the report and its audit event (as ``antigen_report_submit``
    writes them), ``INSERT … ON CONFLICT DO NOTHING`` on ``(resident, date)``. Returns the
    resident's name, or ``None`` when the caller must take ``antigen_report_submit``, which gives
    the exact answer: a positive (the retest list, the event), a photo, a second report the same
    day (an update), a resident not of this household, a date outside the last 7 days, SQLite, a
    caller's transaction, or a report table with columns this statement does not know.

    ``link``: the household link's ``(id, nonce)`` (``accounts.services.household_link_parse``)
    instead of ``household_id``: the link is then read by the same statement — live (not revoked,
    the same nonce) and the resident of its household, else nothing is written and None — and its
    use recorded as ``household_link_resolve`` records it (ADR 0023)."""
    today = timezone.localdate()
    whose_ok = link is not None or (household_id is not None and 0 < household_id < 2**63)
    if (
        connection.vendor != "postgresql"
        or connection.in_atomic_block
        or result not in (AntigenResult.NEGATIVE, AntigenResult.INVALID)
        or not 0 <= (today - date).days <= 7
        or not (0 < resident_id < 2**63 and whose_ok)
    ):
        return None
    now = timezone.now()
    values = {
        "neighbourhood_id": "p.neighbourhood_id",
        "building_id": "p.building_id",
        "resident_id": "p.id",
        "date": "%(date)s",
        "result": "%(result)s",
        "photo": "''",
        "channel": "%(channel)s",
        "reported_by_id": "NULL",
        "confirmed_at": "NULL",
        "confirmed_by_id": "NULL",
        "created_at": "%(now)s",
        "updated_at": "%(now)s",
    }
    fields = [f for f in AntigenReport._meta.concrete_fields if not f.primary_key]
    if {f.attname for f in fields} != set(values):
        return None  # the model changed: the ORM path knows it
    qn = connection.ops.quote_name
    ctx = context.current()
    if link is None:
        whose = "r.household_id = %(household)s"
        link_cols, link_join = "NULL::timestamptz AS last_used_at", ""
    else:
        whose = "l.id = %(link)s AND l.nonce = %(nonce)s AND l.revoked_at IS NULL"
        link_cols = "l.last_used_at AS last_used_at"
        link_join = f"JOIN {qn(HouseholdLink._meta.db_table)} l ON l.household_id = r.household_id "
    sql = (
        f"WITH p AS (SELECT r.id, r.name, r.neighbourhood_id, h.building_id, {link_cols} "  # noqa: S608
        f"FROM {qn(Resident._meta.db_table)} r JOIN {qn(Household._meta.db_table)} h ON h.id = r.household_id "
        f"{link_join}WHERE r.id = %(resident)s AND {whose}), "
        f"i AS (INSERT INTO {qn(AntigenReport._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
        f"SELECT {', '.join(values[f.attname] for f in fields)} FROM p ON CONFLICT DO NOTHING "
        "RETURNING id, resident_id, neighbourhood_id), "
        f"a AS (INSERT INTO {qn(AuditEvent._meta.db_table)} (created_at, actor_id, actor_label, action, object_type, "
        "object_id, object_repr, neighbourhood_id, changes, ip, user_agent, channel) "
        "SELECT %(now)s, NULL, 'household-link', 'screening.antigen_report', %(type)s, i.id::text, "
        "'#' || i.resident_id || ' ' || %(date_text)s || ' ' || %(result)s, i.neighbourhood_id, %(changes)s::jsonb, "
        "%(ip)s, %(ua)s, %(ctx_channel)s FROM i) "
        "SELECT p.name, p.last_used_at FROM p, i"
    )
    params = {
        "resident": resident_id,
        "household": household_id or 0,
        "link": link[0] if link else 0,
        "nonce": link[1] if link else "",
        "date": date,
        "date_text": date.isoformat(),
        "result": result,
        "channel": channel,
        "now": now,
        "type": AntigenReport._meta.label_lower,
        "changes": json.dumps({"result": result, "before": None, "channel": channel, "photo": False}),
        "ip": ctx.ip,
        "ua": ctx.user_agent,
        "ctx_channel": ctx.channel,
    }
    with rawsql.hot_cursor(connection) as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    if row is None:
        return None
    if link is not None:
        household_link_used(link[0], row[1])
    return row[0]


def _antigen_positive(*, actor, report: AntigenReport, resident: Resident) -> None:
    if resident.pk in residents_with_open_case([resident.pk]):
        return  # already a case: the case's rules apply, nothing to retest
    pending = Retest.objects.filter(
        resident=resident, antigen_report__isnull=False, status__in=(RetestStatus.PENDING, RetestStatus.SAMPLED)
    ).exists()
    if not pending:
        retest = Retest.objects.create(
            neighbourhood_id=report.neighbourhood_id,
            building_id=report.building_id,
            resident=resident,
            antigen_report=report,
            home_control=True,
        )
        audit_record(
            actor=actor if actor is not None else "household-link",
            action="screening.retest_list",
            obj=retest,
            changes={"antigen_report": report.pk, "home_control": True},
        )
    publish(
        "screening.antigen_positive",
        resident=resident,
        detected_on=report.date,
        actor=_user(actor),
        ref=f"抗原自测 {report.date:%m-%d}",
        report=report,
    )


MSG_NOT_POSITIVE = "只有阳性的抗原报告需要确认"
MSG_ALREADY_CONFIRMED = "该抗原阳性报告已确认"


@transaction.atomic
def antigen_report_confirm(*, actor, report: AntigenReport, note: str = "") -> AntigenReport:
    """Staff confirm a positive antigen report (seen the photo, called the resident …): the case
    opens now (``screening.positive``, source antigen), without waiting for the PCR retest; the
    report's pending retest is resolved as confirmed. Audited. The caller checks the permission
    (``MANAGE_CASES``)."""
    report = (
        AntigenReport.objects.select_for_update(of=("self",)).select_related("resident__household").get(pk=report.pk)
    )
    if report.result != AntigenResult.POSITIVE:
        raise ValidationError({"__all__": [MSG_NOT_POSITIVE]})
    if report.confirmed_at is not None:
        raise ValidationError({"__all__": [MSG_ALREADY_CONFIRMED]})
    now = timezone.now()
    report.confirmed_at = now
    report.confirmed_by = _user(actor)
    report.save(update_fields=["confirmed_at", "confirmed_by", "updated_at"])
    resolved = Retest.objects.filter(
        resident_id=report.resident_id,
        antigen_report__isnull=False,
        status__in=(RetestStatus.PENDING, RetestStatus.SAMPLED),
    ).update(status=RetestStatus.CONFIRMED, resolved_at=now, home_control=False)
    audit_record(
        actor=actor,
        action="screening.antigen_confirm",
        obj=report,
        changes={"retests_resolved": resolved, "note": (note or "").strip()[:200]},
    )
    publish(
        "screening.positive",
        resident=report.resident,
        detected_on=report.date,
        source="antigen",
        actor=_user(actor),
        ref=f"抗原自测 {report.date:%m-%d} 经工作人员确认",
    )
    return report


def _delete_files_on_commit(names: list[str]) -> None:
    storage = AntigenReport._meta.get_field("photo").storage

    def delete() -> None:
        for name in names:
            # Already gone, or the disk refuses: the row no longer points at it either way.
            with contextlib.suppress(OSError):
                storage.delete(name)

    transaction.on_commit(delete)


def antigen_photos_purge(now: dt.datetime, dry_run: bool, progress=None) -> int:
    """Retention rule (``jiayuan purge``): delete the photos of antigen reports older than
    ``JIAYUAN_ANTIGEN_PHOTO_DAYS`` days — the file and the row's pointer; the result is kept."""
    from django.conf import settings

    cutoff = timezone.localdate(now) - dt.timedelta(days=settings.JIAYUAN_ANTIGEN_PHOTO_DAYS)
    qs = AntigenReport.objects.filter(date__lt=cutoff).exclude(photo="")
    if dry_run:
        return qs.count()
    removed = 0
    last = 0
    while batch := list(qs.filter(pk__gt=last).order_by("pk").values_list("pk", "photo")[:500]):
        last = batch[-1][0]
        with transaction.atomic():
            # Row by row on the name read: a photo replaced meanwhile is the new one, and stays.
            gone = [name for pk, name in batch if AntigenReport.objects.filter(pk=pk, photo=name).update(photo="")]
            _delete_files_on_commit(gone)
        removed += len(gone)
        if progress is not None:
            progress(len(gone))
    return removed


def stations_capacity_minutes(stations: list[Station], people: int, slot_minutes: int) -> int:
    """Minutes the stations need for ``people`` (shown beside the plan)."""
    cap = sum(planning.capacity_per_slot(s.samplers, s.swabs_per_hour, slot_minutes) for s in stations)
    return math.ceil(people / cap) * slot_minutes if cap else 0
