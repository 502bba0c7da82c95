"""门岗 API: gates and their state, the one-scan passage, the passage log, passes, parcels.

A refused passage is still a 201 (it was recorded) with ``allowed: false`` and ``reason``. A
retried passage with the same ``idempotency_key`` is stored once and answered with the first
answer (the passage row's own key, unique per gate and day). Parcels: 409 with ``code`` when the
parcel is in the wrong state (``not_disinfected``, ``already_disinfected``, ``already_done``) or
may only go to the door (``door_only``: a sealed building or a household under quarantine).
"""

import datetime as dt
from typing import Literal

from django.core.exceptions import ValidationError
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from ninja.errors import AuthenticationError
from ninja.pagination import paginate
from pydantic import Field

from jiayuan.core.api import (
    DEFERRED_AUTH,
    Day,
    Id,
    Pagination,
    PendingToken,
    ScannerInput,
    answered,
    answers,
    scanner_payload,
)
from jiayuan.core.idempotency import run_idempotent
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import get_scoped_or_404
from jiayuan.gates import selectors, services
from jiayuan.gates.choices import GateState, PassKind, Reason, VehiclePurpose
from jiayuan.gates.models import Parcel
from jiayuan.people.models import Resident
from jiayuan.places.models import Household

router = Router(tags=["gates"])


def _conflict(exc: services.GateConflict) -> Status:
    return Status(409, {"detail": exc.message, "code": exc.code, "errors": []})


# --- Gates -------------------------------------------------------------------------------------


class GateOut(Schema):
    id: int
    name: str
    compound_id: int
    compound: str
    state: str
    state_text: str
    note: str

    @staticmethod
    def resolve_compound(obj):
        return obj.compound.name


@router.get("/gates", response=answers(list[GateOut]), summary="门岗列表")
@paginate(Pagination)
def gates_list(request):
    return selectors.gate_list(user=request.auth)


class GateStateIn(Schema):
    state: GateState
    note: str = Field("", max_length=200)


@router.post("/gates/{gate_id}/state", response=answers(GateOut, 403, 404), summary="开关门岗或限制通行")
def gate_state(request, gate_id: Id, payload: GateStateIn):
    gate = selectors.gate_get(user=request.auth, gate_id=gate_id, action=Action.MANAGE_GATES)
    return services.gate_set_state(actor=request.auth, gate=gate, state=payload.state, note=payload.note)


# --- Passages ----------------------------------------------------------------------------------


class VisitorIn(ScannerInput):
    name: str = Field(max_length=64)
    phone: str = Field(max_length=40)
    purpose: str = Field(max_length=100)
    host_household: Id


class VehicleIn(ScannerInput):
    plate: str = Field(max_length=16)
    purpose: VehiclePurpose = VehiclePurpose.OTHER


class PassageIn(ScannerInput):
    gate: Id
    direction: Literal["in", "out"]
    resident_code: str | None = Field(None, max_length=40, description="居民核酸码(采样码)或通行证编号")
    visitor: VisitorIn | None = None
    vehicle: VehicleIn | None = None
    temperature: float | None = Field(None, ge=34, le=43, description="体温 ℃ (可不填)")
    away: bool = Field(False, description="出门多日(在住状态改为外出, 若设置如此)")
    idempotency_key: str = Field("", max_length=200)


class PassageAnswer(Schema):
    id: int
    allowed: bool
    reason: Reason | None
    message: str


@router.post(
    "/gate-passages",
    response=answers({201: PassageAnswer}, 403, 404),
    summary="扫码通行(居民、访客或车辆), 拒绝也记录",
    auth=DEFERRED_AUTH,
)
def passage_create(request, payload: PassageIn):
    return _passage(request, payload)


def passage_scan(request):
    """``POST /api/v1/gate-passages`` with a scanner's token: the same as ``passage_create``,
    served before ninja's operation (``core.api.hot_urls``, ADR 0023); a body it does not accept
    goes to the operation, which answers its 422."""
    payload = scanner_payload(request, PassageIn)
    return None if payload is None else _passage(request, payload)


def _passage(request, payload: PassageIn):
    now = timezone.now()  # the zone and quarantines are read for the instant the passage records
    if isinstance(request.auth, PendingToken):  # the token read with the gate and the resident
        found = selectors.scan_for_token(
            key=request.auth.key,
            gate_id=payload.gate,
            resident_code=payload.resident_code or "",
            zone=payload.direction == "out",
            now=now,
        )
        if found is None:
            raise AuthenticationError
        user, gate, scanned = found
        request.auth = request.user = user
    else:
        gate, scanned = selectors.gate_for_scan(
            user=request.auth, gate_id=payload.gate, resident_code=payload.resident_code or ""
        )
    outcome = services.passage_record(
        scanned=scanned,
        actor=request.auth,
        gate=gate,
        direction=payload.direction,
        resident_code=payload.resident_code or "",
        visitor=payload.visitor.model_dump() if payload.visitor else None,
        vehicle=payload.vehicle.model_dump() if payload.vehicle else None,
        temperature=payload.temperature,
        idempotency_key=payload.idempotency_key,
        away=payload.away,
        now=now,
    )
    return answered(201, outcome.as_dict())


class PassageOut(Schema):
    id: int
    gate: int
    gate_name: str
    direction: str
    subject: str
    allowed: bool
    reason: str | None
    at: dt.datetime
    temperature: float | None
    who: str = Field(description="居民姓名; 访客姓名与电话打码; 车辆车牌")
    building: str
    purpose: str

    @staticmethod
    def resolve_gate(obj):
        return obj.gate_id

    @staticmethod
    def resolve_gate_name(obj):
        return obj.gate.name

    @staticmethod
    def resolve_reason(obj):
        return obj.reason or None

    @staticmethod
    def resolve_temperature(obj):
        return float(obj.temperature) if obj.temperature is not None else None

    @staticmethod
    def resolve_who(obj):
        if obj.resident_id:
            return obj.resident.name
        return obj.who_masked

    @staticmethod
    def resolve_building(obj):
        return obj.building.name if obj.building_id else ""

    @staticmethod
    def resolve_purpose(obj):
        return obj.purpose or obj.get_vehicle_purpose_display()


class PassageFilters(Schema):
    gate: Id | None = None
    date: Day | None = None
    allowed: bool | None = None


@router.get("/gate-passages", response=answers(list[PassageOut]), summary="出入记录")
@paginate(Pagination)
def passages_list(request, filters: Query[PassageFilters]):
    return selectors.passage_list(user=request.auth, gate_id=filters.gate, day=filters.date, allowed=filters.allowed)


# --- Passes ------------------------------------------------------------------------------------


class PassIn(Schema):
    household: Id
    resident: Id | None = Field(None, description="持证人(不填则为全户通行证)")
    kind: PassKind = PassKind.SHOPPING
    employer: str = Field("", max_length=200, description="上班通行证: 单位及证明")
    valid_from: Day
    valid_to: Day
    quota: int = Field(1, ge=1, le=100)
    period_days: int = Field(2, ge=1, le=90)
    idempotency_key: str = Field("", max_length=200)


class PassCreated(Schema):
    id: int
    code: str


@router.post("/passes", response=answers({201: PassCreated}, 403, 404), summary="发放通行证")
def pass_create(request, payload: PassIn):
    household = get_scoped_or_404(Household.objects.all(), request.auth, Action.MANAGE_GATES, pk=payload.household)
    resident = None
    if payload.resident is not None:
        resident = Resident.objects.filter(pk=payload.resident, household=household).first()
        if resident is None:
            raise ValidationError({"resident": ["持证人不属于该住户"]})

    def issue():
        p = services.pass_issue(
            actor=request.auth,
            household=household,
            resident=resident,
            kind=payload.kind,
            employer=payload.employer,
            valid_from=payload.valid_from,
            valid_to=payload.valid_to,
            quota=payload.quota,
            period_days=payload.period_days,
        )
        return 201, {"id": p.pk, "code": p.code}

    key = services.clean_idempotency_key(payload.idempotency_key)
    status, body = run_idempotent(scope=f"gates.pass:{household.pk}", key=key, fn=issue)
    return Status(status, body)


# --- Parcels -----------------------------------------------------------------------------------


class ParcelIn(Schema):
    household: Id
    carrier: str = Field("", max_length=50)
    note: str = Field("", max_length=200)
    idempotency_key: str = Field("", max_length=200)


class ParcelCreated(Schema):
    id: int
    pickup_code: str


class ParcelOut(Schema):
    id: int
    household: int
    status: str
    status_label: str

    @staticmethod
    def resolve_household(obj):
        return obj.household_id

    @staticmethod
    def resolve_status_label(obj):
        return obj.get_status_display()


def _parcel_household(user, household_id: int) -> Household:
    return get_scoped_or_404(Household.objects.all(), user, Action.HANDLE_PARCELS, pk=household_id)


@router.post("/parcels", response=answers({201: ParcelCreated}, 403, 404), summary="登记快递外卖")
def parcel_create(request, payload: ParcelIn):
    household = _parcel_household(request.auth, payload.household)

    def register():
        parcel = services.parcel_register(
            actor=request.auth, household=household, carrier=payload.carrier, note=payload.note
        )
        return 201, {"id": parcel.pk, "pickup_code": parcel.pickup_code}

    key = services.clean_idempotency_key(payload.idempotency_key)
    status, body = run_idempotent(scope=f"gates.parcel:{household.pk}", key=key, fn=register)
    return Status(status, body)


def _parcel(request, parcel_id: int) -> Parcel:
    return selectors.parcel_get(user=request.auth, parcel_id=parcel_id)


@router.post("/parcels/{parcel_id}/disinfect", response=answers(ParcelOut, 403, 404, 409), summary="快递已消杀")
def parcel_disinfect(request, parcel_id: Id):
    try:
        return services.parcel_disinfect(actor=request.auth, parcel=_parcel(request, parcel_id))
    except services.GateConflict as exc:
        return _conflict(exc)


@router.post("/parcels/{parcel_id}/deliver", response=answers(ParcelOut, 403, 404, 409), summary="快递已送到门口")
def parcel_deliver(request, parcel_id: Id):
    try:
        return services.parcel_deliver(actor=request.auth, parcel=_parcel(request, parcel_id))
    except services.GateConflict as exc:
        return _conflict(exc)


class PickupIn(Schema):
    code: str = Field(max_length=20)


@router.post(
    "/parcels/{parcel_id}/pickup", response=answers(ParcelOut, 403, 404, 409), summary="凭取件码自取(封控、隔离户除外)"
)
def parcel_pickup(request, parcel_id: Id, payload: PickupIn):
    try:
        return services.parcel_pickup(actor=request.auth, parcel=_parcel(request, parcel_id), code=payload.code)
    except services.GateConflict as exc:
        return _conflict(exc)
