"""Screening endpoints for scanners and other systems. Thin: scope, call a service or selector.

Errors are JSON ``{"detail", "code", "errors"}`` (``core.api.ErrorOut``): an unknown sampling
code or tube is 404, a duplicate, a full or closed tube or a finished round 409, bad input 422. A
retry with the same ``idempotency_key`` gets the first answer back and stores nothing new.
"""

import datetime as dt
from typing import Literal

from django.core.exceptions import ValidationError
from django.db import transaction
from ninja import Query, Router, Schema, Status
from ninja.errors import AuthenticationError
from ninja.pagination import paginate
from pydantic import Field

from jiayuan.core.api import (
    DEFERRED_AUTH,
    Day,
    Id,
    LocalTime,
    Pagination,
    PendingToken,
    ScannerInput,
    answered,
    answers,
)
from jiayuan.core.idempotency import run_idempotent
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import get_scoped_or_404
from jiayuan.people.models import Resident
from jiayuan.places.models import Building
from jiayuan.screening import selectors, services
from jiayuan.screening.choices import ReportChannel
from jiayuan.screening.codes import parse_sampling_code

router = Router(tags=["screening"])

MAX_BATCH = 500


class StationIn(Schema):
    name: str = Field(..., max_length=64)
    kind: Literal["fixed", "door"] = "fixed"
    samplers: int = Field(2, ge=1, le=50)
    swabs_per_hour: int = Field(60, ge=1, le=600)


class RoundIn(Schema):
    kind: Literal["pcr", "antigen"] = "pcr"
    date: Day
    pool_size: Literal[1, 5, 10, 20] = 10
    building_ids: list[Id] | None = Field(None, max_length=1000, description="楼栋 id; 不填为全居民区")
    neighbourhood_id: Id | None = Field(None, description="居民区 id; 只管理一个居民区时可不填")
    start_time: LocalTime | None = None
    end_time: LocalTime | None = None
    slot_minutes: int = Field(20, ge=5, le=120)
    stations: list[StationIn] = Field([], max_length=50)
    idempotency_key: str = Field("", max_length=200, description="重试时带同一个键: 只建一轮, 回答第一次的结果")


class StationOut(Schema):
    id: int
    name: str
    kind: str
    samplers: int
    swabs_per_hour: int


class RoundOut(Schema):
    id: int
    neighbourhood_id: int
    kind: str
    date: dt.date
    start_time: LocalTime
    end_time: LocalTime
    pool_size: int
    slot_minutes: int
    status: str
    building_ids: list[int] = Field(description="楼栋 id; 空为全居民区")
    stations: list[StationOut]

    # A dict is an answer replayed for a retried ``idempotency_key``: already in this shape.
    @staticmethod
    def resolve_building_ids(obj):
        if isinstance(obj, dict):
            return obj["building_ids"]
        # ``.all()``, not ``values_list``: the list endpoint prefetches ``buildings`` (no N+1).
        return [] if obj.whole_neighbourhood else sorted(b.pk for b in obj.buildings.all())

    @staticmethod
    def resolve_stations(obj):
        return obj["stations"] if isinstance(obj, dict) else list(obj.stations.all())


@router.get("/rounds", response=answers(list[RoundOut]), summary="筛查轮次列表")
@paginate(Pagination)
def rounds_list(request):
    return selectors.round_list(user=request.auth).prefetch_related("stations", "buildings")


@router.post("/rounds", response=answers({201: RoundOut}, 403), summary="新建筛查轮次(可带幂等键)")
def rounds_create(request, payload: RoundIn):
    user = request.auth

    def run():
        return 201, RoundOut.from_orm(_create_round(user, payload)).model_dump(mode="json")

    return Status(*run_idempotent(scope=f"screening.round:{user.pk}", key=payload.idempotency_key, fn=run))


def _create_round(user, payload: RoundIn):
    with transaction.atomic():
        nb, buildings = selectors.round_target(
            user=user, neighbourhood_id=payload.neighbourhood_id, building_ids=payload.building_ids or []
        )
        round_ = services.round_create(
            actor=user,
            neighbourhood=nb,
            kind=payload.kind,
            date=payload.date,
            pool_size=payload.pool_size,
            start_time=payload.start_time,
            end_time=payload.end_time,
            slot_minutes=payload.slot_minutes,
            buildings=buildings,
        )
        for st in payload.stations:
            services.station_create(
                actor=user,
                round_=round_,
                name=st.name,
                kind=st.kind,
                samplers=st.samplers,
                swabs_per_hour=st.swabs_per_hour,
            )
    return round_


@router.get("/rounds/{round_id}", response=answers(RoundOut, 404), summary="筛查轮次详情")
def rounds_get(request, round_id: Id):
    return selectors.round_get(user=request.auth, round_id=round_id)


# The scanner's answers are written as they are (``core.api.answered``), in the shapes the
# operations declare, not validated a second time; its inputs are ``ScannerInput``s. The hot path
# (ADR 0023).


class PersonIn(ScannerInput):
    name: str = Field(..., max_length=64)
    contact: str = Field("", max_length=32, description="手机号或证件号(只存脱敏值和哈希)")
    kind: Literal["visitor", "worker"] = "visitor"


class SampleIn(ScannerInput):
    tube: str = Field(..., max_length=60, description="试管条码; 本轮没有时自动开管")
    resident_code: str | None = Field(None, max_length=60, description="核酸码 R<id>-XXXXXXXX")
    person: PersonIn | None = Field(None, description="非名单人员(访客、工作人员)")
    retest: bool = Field(False, description="单采复核管(只收复核名单上的居民)")
    idempotency_key: str = Field("", max_length=200)


class SampleOut(Schema):
    sample_id: int
    tube: str
    fill: int
    pool_size: int
    full: bool
    closed: bool
    resident: int | None
    name: str
    retest: bool


@router.post(
    "/rounds/{round_id}/samples",
    response=answers({201: SampleOut}, 403, 404, 409),
    summary="采样扫码(一人)",
    auth=DEFERRED_AUTH,
)
def samples_create(request, round_id: Id, payload: SampleIn):
    resident_id = parse_sampling_code(payload.resident_code or "") if payload.person is None else None
    # The round (scoped) and the scanned resident in one query — with the bearer token, read in
    # the same statement (ADR 0023): this is the scanner's hot path.
    if isinstance(request.auth, PendingToken):
        found = selectors.round_for_token(key=request.auth.key, round_id=round_id, resident_id=resident_id)
        if found is None:
            raise AuthenticationError
        user, round_, scanned = found
        request.auth = request.user = user
    else:
        user = request.auth
        round_, scanned = selectors.round_for_scan(user=user, round_id=round_id, resident_id=resident_id)
    if payload.person is not None:
        person = payload.person

        def run():
            outcome = services.sample_scan_person(
                actor=user,
                round_=round_,
                tube_barcode=payload.tube,
                name=person.name,
                contact=person.contact,
                kind=person.kind,
            )
            return 201, outcome.as_dict()

        try:
            return answered(
                *run_idempotent(scope=services.idempotency_scope(user, round_), key=payload.idempotency_key, fn=run)
            )
        except ValidationError as exc:
            return answered(*services.error_body(exc))
    if not payload.resident_code:
        return answered(
            422, {"detail": "输入有误", "code": "invalid", "errors": [{"field": "resident_code", "message": "必填"}]}
        )
    return answered(
        *services.sample_scan_one(
            actor=user,
            round_=round_,
            tube=payload.tube,
            resident_code=payload.resident_code,
            idempotency_key=payload.idempotency_key,
            retest=payload.retest,
            **({"scanned": scanned} if resident_id is not None else {}),
        )
    )


class BatchItemIn(ScannerInput):
    tube: str = Field(..., max_length=60)
    resident_code: str = Field(..., max_length=60)
    idempotency_key: str = Field("", max_length=200)


class BatchIn(ScannerInput):
    items: list[BatchItemIn] = Field(..., max_length=MAX_BATCH)


class BatchItemOut(Schema):
    index: int
    status: int
    message: str
    code: str = ""
    result: SampleOut | None = None


class BatchOut(Schema):
    accepted: int
    rejected: int
    items: list[BatchItemOut]


def _item(index: int, status: int, body: dict) -> dict:
    if status == 201:
        msg = "已满, 已封管" if body.get("full") else f"已采 {body['fill']}/{body['pool_size']}"
        return {"index": index, "status": status, "message": msg, "code": "ok", "result": body}
    errors = body.get("errors") or []
    message = body.get("detail", "")
    if errors:
        message = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return {"index": index, "status": status, "message": message, "code": body.get("code", ""), "result": None}


@router.post(
    "/rounds/{round_id}/samples/batch", response=answers(BatchOut, 403, 404), summary="采样扫码(批量, 逐条回答)"
)
def samples_batch(request, round_id: Id, payload: BatchIn):
    user = request.auth
    round_ = selectors.round_get(user=user, round_id=round_id, action=Action.SAMPLE)
    answers = services.sample_scan_batch(actor=user, round_=round_, items=[i.model_dump() for i in payload.items])
    items = [_item(i, status, body) for i, (status, body) in enumerate(answers)]
    accepted = sum(1 for i in items if i["status"] == 201)
    return answered(200, {"accepted": accepted, "rejected": len(items) - accepted, "items": items})


class TubeResultIn(Schema):
    tube: str = Field(..., max_length=60)
    result: Literal["negative", "positive"]


class TubeResultsIn(Schema):
    items: list[TubeResultIn] = Field(..., max_length=5000)


class TubeResultItemOut(Schema):
    index: int
    tube: str
    status: int
    message: str
    code: str = ""
    retests: int = 0


@router.post(
    "/rounds/{round_id}/tube-results",
    response=answers(list[TubeResultItemOut], 403, 404),
    summary="录入试管结果(逐条回答)",
)
def tube_results(request, round_id: Id, payload: TubeResultsIn):
    user = request.auth
    round_ = selectors.round_get(user=user, round_id=round_id, action=Action.ENTER_RESULTS)
    answers_ = services.tube_results_record_many(
        actor=user, round_=round_, items=[(item.tube, item.result) for item in payload.items]
    )
    out = []
    for i, (item, (status, body)) in enumerate(zip(payload.items, answers_, strict=True)):
        if status == 200:
            msg = "已录入" if body["changed"] else "结果相同, 未改动"
            if body["retests"]:
                msg += f", {body['retests']}人列入单采复核并临时居家管控"
            out.append(
                {"index": i, "tube": item.tube, "status": 200, "message": msg, "code": "ok", "retests": body["retests"]}
            )
        else:
            out.append(
                {
                    "index": i,
                    "tube": item.tube,
                    "status": status,
                    "message": body["detail"],
                    "code": body.get("code", ""),
                }
            )
    return out


class MissedOut(Schema):
    id: int
    name: str
    building_id: int | None
    building: str | None
    unit: str | None
    room: str | None
    phone: str
    tags: list[str]

    @staticmethod
    def resolve_building_id(obj):
        return obj.household.building_id if obj.household_id else None

    @staticmethod
    def resolve_building(obj):
        return obj.household.building.name if obj.household_id else None

    @staticmethod
    def resolve_unit(obj):
        return obj.household.unit if obj.household_id else None

    @staticmethod
    def resolve_room(obj):
        return obj.household.room if obj.household_id else None

    @staticmethod
    def resolve_phone(obj):
        return obj.phone_masked


class MissedFilters(Schema):
    building_id: Id | None = Field(None, description="楼栋 id")


@router.get("/rounds/{round_id}/missed", response=answers(list[MissedOut], 404), summary="漏测名单(脱敏)")
@paginate(Pagination)
def missed(request, round_id: Id, filters: Query[MissedFilters]):
    round_ = selectors.round_get(user=request.auth, round_id=round_id)
    if filters.building_id:
        get_scoped_or_404(Building.objects.all(), request.auth, Action.VIEW_SCREENING, pk=filters.building_id)
    return selectors.missed_list(user=request.auth, round_=round_, building_id=filters.building_id)


class RetestOut(Schema):
    id: int
    resident: int | None
    name: str
    building_id: int | None
    building: str | None
    room: str | None
    source_tube: str | None = Field(description="混管阳性的原试管; 抗原阳性待复核时为空")
    status: str
    home_control: bool
    retest_tube: str | None

    @staticmethod
    def resolve_resident(obj):
        return obj.resident_id

    @staticmethod
    def resolve_name(obj):
        # A retest comes from a positive pooled tube (a sample) or, once screening takes them, a
        # positive antigen report (the resident, no sample).
        if obj.sample_id:
            return obj.sample.display_name
        return obj.resident.name if obj.resident_id else ""

    @staticmethod
    def resolve_building(obj):
        return obj.building.name if obj.building_id else None

    @staticmethod
    def resolve_room(obj):
        return obj.resident.household.label if obj.resident_id and obj.resident.household_id else None

    @staticmethod
    def resolve_source_tube(obj):
        return obj.source_tube.barcode if obj.source_tube_id else None

    @staticmethod
    def resolve_retest_tube(obj):
        return obj.retest_sample.tube.barcode if obj.retest_sample_id else None


@router.get("/rounds/{round_id}/retests", response=answers(list[RetestOut], 404), summary="单采复核名单")
@paginate(Pagination)
def retests(request, round_id: Id):
    round_ = selectors.round_get(user=request.auth, round_id=round_id)
    return selectors.retest_list(user=request.auth, round_=round_)


class StatsRow(Schema):
    building_id: int | None
    name: str
    residents: int
    expected: int
    exempt: int
    sampled: int
    missed: int
    retests: int
    percent: int
    leaders: list[str]


class StatsTotal(Schema):
    residents: int
    expected: int
    exempt: int
    sampled: int
    missed: int
    others: int
    tubes: int
    open_tubes: int
    positive_tubes: int
    pending_tubes: int
    retests: int
    retest_tubes: int
    positive_retests: int
    tests_used: int
    percent: int


class StatsOut(Schema):
    round: int
    total: StatsTotal
    buildings: list[StatsRow]


@router.get("/rounds/{round_id}/stats", response=answers(StatsOut, 404), summary="本轮统计(按楼栋与合计)")
def stats(request, round_id: Id):
    round_ = selectors.round_get(user=request.auth, round_id=round_id)
    data = selectors.round_stats(user=request.auth, round_=round_)
    return {"round": round_.pk, **data}


class PlanSlotOut(Schema):
    building_id: int
    building: str
    station_id: int
    station: str
    door_to_door: bool
    start: LocalTime
    end: LocalTime
    people: int
    message: str


class PlanStationSlotOut(Schema):
    building_id: int
    start: LocalTime
    end: LocalTime
    people: int


class PlanStationOut(Schema):
    id: int
    name: str
    kind: str
    capacity_per_hour: int
    people: int
    buildings: list[PlanStationSlotOut]


class PlanOut(Schema):
    round: int
    finish: LocalTime | None
    stations: list[PlanStationOut]
    buildings: list[PlanSlotOut]


@router.get("/rounds/{round_id}/plan", response=answers(PlanOut, 404), summary="分批采样安排")
def plan(request, round_id: Id):
    round_ = selectors.round_get(user=request.auth, round_id=round_id)
    data = selectors.plan_get(round_=round_)
    buildings = [
        {
            "building_id": b["slot"].building_id,
            "building": b["slot"].building.name,
            "station_id": b["slot"].station_id,
            "station": b["slot"].station.name,
            "door_to_door": b["slot"].door_to_door,
            "start": b["slot"].start,
            "end": b["slot"].end,
            "people": b["slot"].people,
            "message": b["message"],
        }
        for b in data["buildings"]
    ]
    stations = [
        {
            "id": s["station"].pk,
            "name": s["station"].name,
            "kind": s["station"].kind,
            "capacity_per_hour": s["station"].per_hour,
            "people": s["people"],
            "buildings": [
                {
                    "building_id": x.building_id,
                    "start": x.start,
                    "end": x.end,
                    "people": x.people,
                }
                for x in s["slots"]
            ],
        }
        for s in data["stations"]
    ]
    return {"round": round_.pk, "finish": data["finish"], "stations": stations, "buildings": buildings}


class AntigenIn(Schema):
    resident: Id
    date: Day
    result: Literal["negative", "positive", "invalid"]
    idempotency_key: str = Field("", max_length=200)


class AntigenOut(Schema):
    id: int
    resident: int
    date: dt.date
    result: str
    created: bool


@router.post(
    "/antigen-reports",
    response=answers({200: AntigenOut, 201: AntigenOut}, 403, 404),
    summary="代报抗原结果(同日再报覆盖)",
)
def antigen_reports(request, payload: AntigenIn):
    user = request.auth
    resident = get_scoped_or_404(
        Resident.objects.select_related("household"), user, Action.REPORT_ANTIGEN, pk=payload.resident
    )

    def run():
        report, created = services.antigen_report_submit(
            actor=user, resident=resident, date=payload.date, result=payload.result, channel=ReportChannel.API
        )
        body = {"id": report.pk, "resident": resident.pk, "date": report.date.isoformat(), "result": report.result}
        return (201 if created else 200), {**body, "created": created}

    return Status(*run_idempotent(scope=f"screening.antigen:{user.pk}", key=payload.idempotency_key, fn=run))
