"""Control endpoints: zone levels, cases, quarantines and health checks.

Names appear only where the caller may VIEW_CONTROL; zones are aggregates (VIEW_ZONES).
"""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from django.core.exceptions import ValidationError
from django.http import Http404
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate
from pydantic import Field, WithJsonSchema

from jiayuan.control import selectors, services
from jiayuan.control.choices import CaseSource, CaseType, CheckSource, QuarantineStatus, Slot, Symptom
from jiayuan.control.models import Quarantine
from jiayuan.core.api import MAX_ID, Day, Pagination, answers
from jiayuan.core.idempotency import run_idempotent
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can, get_scoped_or_404
from jiayuan.people.models import Resident

router = Router(tags=["control"])

Id = Field(None, ge=1, le=MAX_ID)


class OverrideOut(Schema):
    level: str
    reason: str
    expires_at: dt.datetime


class ZoneOut(Schema):
    type: Literal["building", "compound"]
    id: int
    name: str
    compound_id: int | None
    neighbourhood_id: int
    level: str
    computed_level: str
    since: dt.date | None
    next_change_on: dt.date | None
    last_positive_on: dt.date | None
    override: OverrideOut | None


def _zone_item(kind: str, row: dict) -> dict:
    obj = row["obj"]
    ov = row["override"]
    return {
        "type": kind,
        "id": obj.pk,
        "name": f"{obj.compound.name} {obj.name}" if kind == "building" else obj.name,
        "compound_id": obj.compound_id if kind == "building" else None,
        "neighbourhood_id": obj.neighbourhood_id,
        "level": row["level"],
        "computed_level": row["computed_level"],
        "since": row["since"],
        "next_change_on": row["next_change_on"],
        "last_positive_on": row["last_positive_on"],
        "override": {"level": ov.level, "reason": ov.reason, "expires_at": ov.expires_at} if ov else None,
    }


class ZoneFilters(Schema):
    neighbourhood_id: int | None = Id
    compound_id: int | None = Id


@router.get("/zones", response=answers(list[ZoneOut]), summary="各楼栋、小区的分区等级(封控/管控/防范)")
@paginate(Pagination)
def zones_list(request, filters: Query[ZoneFilters]):
    data = selectors.zone_list(
        user=request.auth, neighbourhood_id=filters.neighbourhood_id, compound_id=filters.compound_id
    )
    items = []
    for c in data["compounds"]:
        items.append(_zone_item("compound", c))
        items.extend(_zone_item("building", b) for b in c["buildings"])
    return items


class CaseIn(Schema):
    resident: int = Field(..., ge=1, le=MAX_ID)
    detected_on: Day
    source: CaseSource
    type: CaseType = CaseType.ASYMPTOMATIC
    notes: str = Field("", max_length=1000)


class CaseOut(Schema):
    id: int
    resident: int
    building_id: int | None
    detected_on: dt.date
    source: str
    type: str
    status: str

    @staticmethod
    def resolve_resident(obj) -> int:
        return obj.resident_id


@router.post("/cases", response=answers({201: CaseOut}, 403, 404), summary="登记阳性病例(同一居民未解除的病例会被更新)")
def cases_create(request, payload: CaseIn):
    user = request.auth
    if not can(user, Action.MANAGE_CASES):
        raise HttpError(403, "没有权限")
    resident = get_scoped_or_404(
        Resident.objects.select_related("household__building"), user, Action.MANAGE_CASES, pk=payload.resident
    )
    case = services.case_record(
        actor=user,
        resident=resident,
        detected_on=payload.detected_on,
        source=payload.source,
        type=payload.type,
        notes=payload.notes,
    )
    return Status(201, case)


class CaseVoidIn(Schema):
    reason: str = Field(..., max_length=200)
    release_contacts: bool = False


@router.post(
    "/cases/{case_id}/void",
    response=answers(CaseOut, 403, 404),
    summary="作废误登记的病例(需原因, 记入审计, 重新计算分区)",
)
def cases_void(request, case_id: int, payload: CaseVoidIn):
    user = request.auth
    if not can(user, Action.MANAGE_CASES):
        raise HttpError(403, "没有权限")
    if not 0 < case_id <= MAX_ID:
        raise Http404
    case = selectors.case_get(user=user, case_id=case_id, action=Action.MANAGE_CASES)
    return services.case_void(actor=user, case=case, reason=payload.reason, release_contacts=payload.release_contacts)


class QuarantineOut(Schema):
    id: int
    resident: int | None
    name: str
    building_id: int | None
    building: str | None
    room: str | None
    kind: str
    current_kind: str
    reason: str
    start_on: dt.date
    planned_end: dt.date
    test_days: list[int]
    status: str
    ended_on: dt.date | None
    early_release: bool

    @staticmethod
    def resolve_resident(obj):
        return obj.resident_id

    @staticmethod
    def resolve_name(obj):
        return obj.person_name

    @staticmethod
    def resolve_building(obj):
        return obj.building.name if obj.building_id else None

    @staticmethod
    def resolve_room(obj):
        return obj.household.label if obj.household_id else None

    @staticmethod
    def resolve_current_kind(obj):
        return obj.current_kind


class QuarantineFilters(Schema):
    status: QuarantineStatus | None = None
    building_id: int | None = Id


@router.get("/quarantines", response=answers(list[QuarantineOut]), summary="隔离与健康监测名单")
@paginate(Pagination)
def quarantines_list(request, filters: Query[QuarantineFilters]):
    return selectors.quarantine_list(user=request.auth, status=filters.status or "", building_id=filters.building_id)


class HealthCheckIn(Schema):
    resident: int | None = Id
    quarantine: int | None = Id
    date: Day
    slot: Slot
    # The document says what is accepted: 34.0-43.0 with one decimal, as text ("37.5"; a JSON
    # number is read the same way).
    temperature: Annotated[
        Decimal,
        WithJsonSchema({"type": "string", "pattern": r"^(3[4-9]|4[0-2])(\.[0-9])?$|^43(\.0)?$", "example": "36.5"}),
    ] = Field(..., ge=34, le=43, decimal_places=1)
    symptoms: list[Symptom] = []
    symptom_note: str = Field("", max_length=200)
    door_sensor: str = Field("", max_length=100)
    idempotency_key: str = Field("", max_length=200)


class HealthCheckOut(Schema):
    id: int
    quarantine: int | None
    resident: int | None
    date: dt.date
    slot: str
    temperature: str
    alert: bool
    created: bool


@router.post(
    "/health-checks",
    response=answers({200: HealthCheckOut, 201: HealthCheckOut}, 403, 404),
    summary="录入健康监测(同一时段再报覆盖)",
)
def health_checks_create(request, payload: HealthCheckIn):
    user = request.auth
    if not can(user, Action.RECORD_HEALTH_CHECK):
        raise HttpError(403, "没有权限")
    quarantine = resident = None
    if payload.quarantine is not None:
        quarantine = get_scoped_or_404(
            Quarantine.objects.select_related("resident"), user, Action.RECORD_HEALTH_CHECK, pk=payload.quarantine
        )
    if payload.resident is not None:
        resident = get_scoped_or_404(
            Resident.objects.select_related("household"), user, Action.RECORD_HEALTH_CHECK, pk=payload.resident
        )

    def run():
        try:
            check, created = _record(quarantine, resident)
        except ValidationError as exc:
            # The service names the day ``on``; this endpoint's field is ``date``.
            if hasattr(exc, "error_dict") and "on" in exc.error_dict:
                errors = exc.message_dict
                errors["date"] = errors.pop("on")
                raise ValidationError(errors) from exc
            raise
        body = {
            "id": check.pk,
            "quarantine": check.quarantine_id,
            "resident": check.resident_id,
            "date": check.on.isoformat(),
            "slot": check.slot,
            "temperature": str(check.temperature),
            "alert": check.alert,
            "created": created,
        }
        return (201 if created else 200), body

    def _record(quarantine, resident):
        return services.health_check_record(
            actor=user,
            quarantine=quarantine,
            resident=resident,
            on=payload.date,
            slot=payload.slot,
            temperature=payload.temperature,
            symptoms=list(payload.symptoms),
            symptom_note=payload.symptom_note,
            door_sensor=payload.door_sensor,
            source=CheckSource.STAFF,
        )

    return Status(*run_idempotent(scope=f"control.health_check:{user.pk}", key=payload.idempotency_key, fn=run))
