"""志愿者 API: the registry, teams, shifts, assignment through the health gate, check-in/out.

A refusal that is not bad input is 409 ``{"detail", "code"}``: ``inactive``, ``positive``,
``quarantined``, ``sealed_building``, ``no_antigen_today``, ``overlap``, ``full`` (and
``cancelled``, ``ended``, ``checked_out``, ``not_checked_in``, and for a change of a shift's times
``checked_in``). Writes accept
``idempotency_key``: a retried write is stored once and answered with the first answer.
"""

import datetime as dt
from decimal import Decimal
from typing import Annotated

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import AfterValidator, Field

from jiayuan.core.api import Day, Id, LocalTime, Pagination, answers
from jiayuan.core.idempotency import run_idempotent
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can, get_scoped_or_404, restrict
from jiayuan.people.models import Resident
from jiayuan.places.models import Building, Neighbourhood
from jiayuan.volunteers import selectors, services
from jiayuan.volunteers.choices import PlaceKind, Skill, TeamKind, VolunteerStatus
from jiayuan.volunteers.models import Shift, Volunteer

router = Router(tags=["volunteers"])

Key = Annotated[str, Field("", max_length=200)]


def _plausible(value: dt.datetime) -> dt.datetime:
    if not 2020 <= value.year <= 2099:
        raise ValueError("时间应在 2020 至 2099 年之间")
    return value


Instant = Annotated[dt.datetime, AfterValidator(_plausible)]


def _conflict(exc: services.ShiftRefused):
    return Status(409, {"detail": exc.message, "code": exc.code, "errors": []})


def _run(scope: str, key: str, fn):
    try:
        return Status(*run_idempotent(scope=scope, key=key, fn=fn))
    except services.ShiftRefused as exc:
        return _conflict(exc)


def _neighbourhood(user, action: str, neighbourhood_id: int | None) -> Neighbourhood:
    qs = restrict(Neighbourhood.objects.order_by("code"), user, action)
    nb = qs.filter(pk=neighbourhood_id).first() if neighbourhood_id else qs.first()
    if nb is None:
        if neighbourhood_id:
            raise Http404
        raise PermissionDenied("没有权限")
    return nb


# --- Volunteers ----------------------------------------------------------------------------------


class VolunteerIn(Schema):
    resident: Id | None = Field(None, description="本居民区居民 id(与 name/phone 二选一)")
    name: str = Field("", max_length=64, description="社区外志愿者姓名")
    phone: str = Field("", max_length=40, description="社区外志愿者电话")
    skills: list[Skill] = Field(default_factory=list, max_length=10)
    availability: str = Field("", max_length=200)
    party_member: bool = False
    dual_registration_org: str = Field("", max_length=200, description="双报到单位")
    dual_registration_date: Day | None = None
    commitment_signed: bool = False
    neighbourhood: Id | None = Field(None, description="居民区 id(社区外志愿者, 默认本人所在居民区)")
    idempotency_key: Key


class VolunteerOut(Schema):
    id: int
    name: str
    phone: str = Field(description="脱敏电话")
    status: str
    status_label: str
    resident: int | None
    outsider: bool
    skills: list[str]
    party_member: bool
    dual_registration_org: str
    teams: list[int]


class VolunteerDetailOut(VolunteerOut):
    hours: Decimal = Field(description="累计服务时长(小时)")
    shifts_done: int


def _volunteer_body(v: Volunteer, totals: dict | None = None) -> dict:
    body = {
        "id": v.pk,
        "name": v.name,
        "phone": v.resident.phone_masked if v.resident_id else v.phone_masked,
        "status": v.status,
        "status_label": str(VolunteerStatus(v.status).label),
        "resident": v.resident_id,
        "outsider": v.resident_id is None,
        "skills": list(v.skills or []),
        "party_member": v.party_member,
        "dual_registration_org": v.dual_registration_org,
        "teams": sorted(m.team_id for m in v.memberships.all()),
    }
    if totals is not None:
        body.update({"hours": str(totals["hours"]), "shifts_done": totals["shifts_done"]})
    return body


@router.post("/volunteers", response=answers({201: VolunteerDetailOut}, 403, 404), summary="登记志愿者")
def volunteer_create(request, payload: VolunteerIn):
    user = request.auth
    if payload.resident is not None:
        resident = get_scoped_or_404(
            Resident.objects.select_related("household"), user, Action.MANAGE_VOLUNTEERS, pk=payload.resident
        )
        nb = resident.neighbourhood
    else:
        resident = None
        nb = _neighbourhood(user, Action.MANAGE_VOLUNTEERS, payload.neighbourhood)

    def run():
        v = services.volunteer_create(
            actor=user,
            neighbourhood=nb,
            resident=resident,
            name=payload.name,
            phone=payload.phone,
            skills=[str(s) for s in payload.skills],
            availability=payload.availability,
            party_member=payload.party_member,
            dual_registration_org=payload.dual_registration_org,
            dual_registration_date=payload.dual_registration_date,
            commitment_signed=payload.commitment_signed,
        )
        v = Volunteer.objects.select_related("resident").get(pk=v.pk)
        return 201, _volunteer_body(v, {"hours": Decimal("0.00"), "shifts_done": 0})

    return _run(f"volunteers.create:{user.pk}", payload.idempotency_key, run)


class VolunteerFilters(Schema):
    team: Id | None = None
    status: VolunteerStatus | None = None


@router.get("/volunteers", response=answers(list[VolunteerOut]), summary="志愿者列表")
@paginate(Pagination)
def volunteer_list(request, filters: Query[VolunteerFilters]):
    rows = selectors.volunteer_list(user=request.auth, status=filters.status or "", team_id=filters.team)
    return [_volunteer_body(v) for v in rows.select_related("resident")]


@router.get("/volunteers/{volunteer_id}", response=answers(VolunteerDetailOut, 404), summary="志愿者详情与服务时长")
def volunteer_detail(request, volunteer_id: Id):
    v = selectors.volunteer_get(user=request.auth, volunteer_id=volunteer_id)
    return _volunteer_body(v, selectors.volunteer_totals([v.pk])[v.pk])


# --- Teams ---------------------------------------------------------------------------------------


class TeamIn(Schema):
    name: str = Field(max_length=64)
    kind: TeamKind
    requires_antigen_today: bool = False
    description: str = Field("", max_length=1000)
    neighbourhood: Id | None = None
    idempotency_key: Key


class TeamOut(Schema):
    id: int
    name: str
    kind: str
    requires_antigen_today: bool


@router.post("/teams", response=answers({201: TeamOut}, 403, 404), summary="新建队伍")
def team_create(request, payload: TeamIn):
    user = request.auth
    nb = _neighbourhood(user, Action.MANAGE_VOLUNTEERS, payload.neighbourhood)

    def run():
        t = services.team_create(
            actor=user,
            neighbourhood=nb,
            name=payload.name,
            kind=str(payload.kind),
            requires_antigen_today=payload.requires_antigen_today,
            description=payload.description,
        )
        return 201, {"id": t.pk, "name": t.name, "kind": t.kind, "requires_antigen_today": t.requires_antigen_today}

    return _run(f"volunteers.team:{user.pk}", payload.idempotency_key, run)


class MemberIn(Schema):
    volunteer: Id
    is_leader: bool = False
    idempotency_key: Key


class MemberOut(Schema):
    team: int
    volunteer: int
    is_leader: bool


@router.post("/teams/{team_id}/members", response=answers({201: MemberOut}, 403, 404), summary="加入队伍")
def team_member_add(request, team_id: Id, payload: MemberIn):
    user = request.auth
    team = selectors.team_get(user=user, team_id=team_id)
    if not can(user, Action.MANAGE_VOLUNTEERS, team):
        raise PermissionDenied("没有权限管理该队伍")
    volunteer = get_scoped_or_404(
        Volunteer.objects.filter(neighbourhood_id=team.neighbourhood_id),
        user,
        Action.VIEW_VOLUNTEERS,
        pk=payload.volunteer,
    )

    def run():
        m = services.team_add_member(actor=user, team=team, volunteer=volunteer, is_leader=payload.is_leader)
        return 201, {"team": team.pk, "volunteer": volunteer.pk, "is_leader": m.is_leader}

    return _run(f"volunteers.member:{team.pk}", payload.idempotency_key, run)


# --- Shifts --------------------------------------------------------------------------------------


class ShiftIn(Schema):
    team: Id
    date: Day
    start: LocalTime
    end: LocalTime = Field(description="结束时间不晚于开始时间时, 班次到次日结束")
    place: str = Field("", max_length=200)
    place_kind: PlaceKind = PlaceKind.OTHER
    place_ref: str = Field(
        "", max_length=64, description="门岗等真实地点的编号, 如 gate:12(门岗列表的 id); 填写时 place 取其名称"
    )
    building: Id | None = Field(None, description="楼栋 id(楼内服务)")
    needed: int = Field(ge=1, le=500)
    note: str = Field("", max_length=1000)
    idempotency_key: Key


class ShiftOut(Schema):
    id: int
    team: int
    date: dt.date
    start: str
    end: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    place: str
    place_ref: str
    needed: int
    taken: int


def _shift_body(shift: Shift) -> dict:
    taken = getattr(shift, "taken", None)
    if taken is None:
        taken = selectors._decorate(shift).taken
    return {
        "id": shift.pk,
        "team": shift.team_id,
        "date": shift.date.isoformat(),
        "start": shift.start.strftime("%H:%M"),
        "end": shift.end.strftime("%H:%M"),
        "starts_at": shift.starts_at.isoformat(),
        "ends_at": shift.ends_at.isoformat(),
        "place": shift.place,
        "place_ref": shift.place_ref,
        "needed": shift.needed,
        "taken": taken,
    }


@router.post("/shifts", response=answers({201: ShiftOut}, 403, 404), summary="新建班次")
def shift_create(request, payload: ShiftIn):
    user = request.auth
    team = selectors.team_get(user=user, team_id=payload.team)
    if not (can(user, Action.MANAGE_SHIFTS, team) or team.pk in selectors.led_team_ids(user)):
        raise PermissionDenied("没有权限为该队伍排班")
    building = None
    if payload.building is not None:
        building = Building.objects.filter(pk=payload.building, neighbourhood_id=team.neighbourhood_id).first()
        if building is None:
            raise ValidationError({"building": ["该楼栋不属于本居民区"]})

    def run():
        s = services.shift_create(
            actor=user,
            team=team,
            date=payload.date,
            start=payload.start,
            end=payload.end,
            needed=payload.needed,
            place=payload.place,
            place_kind=str(payload.place_kind),
            place_ref=payload.place_ref,
            building=building,
            note=payload.note,
        )
        return 201, _shift_body(s)

    return _run(f"volunteers.shift:{user.pk}", payload.idempotency_key, run)


class ShiftChange(Schema):
    """Only the fields given change; the team stays."""

    date: Day | None = None
    start: LocalTime | None = None
    end: LocalTime | None = None
    place: str | None = Field(None, max_length=200)
    place_kind: PlaceKind | None = None
    place_ref: str | None = Field(None, max_length=64)
    building: Id | None = Field(None, description="楼栋 id(楼内服务); 0 表示不在楼内")
    needed: int | None = Field(None, ge=1, le=500)
    note: str | None = Field(None, max_length=1000)
    idempotency_key: Key


@router.patch("/shifts/{shift_id}", response=answers(ShiftOut, 403, 404, 409), summary="修改班次")
def shift_update(request, shift_id: Id, payload: ShiftChange):
    """A cancelled or ended shift is 409 (``cancelled``, ``ended``), and so is a change of its day
    or times once someone has checked in (``checked_in``); fewer people needed than are on it is a
    422 on ``needed``."""
    user = request.auth
    shift = get_scoped_or_404(
        Shift.objects.select_related("team", "building"), user, Action.VIEW_VOLUNTEERS, pk=shift_id
    )
    if not selectors.may_manage_shift(user, shift):
        raise PermissionDenied("没有权限修改该班次")
    given = payload.model_dump(exclude_unset=True)
    building = shift.building
    if "building" in given:
        building = None
        if given["building"]:
            building = Building.objects.filter(pk=given["building"], neighbourhood_id=shift.neighbourhood_id).first()
            if building is None:
                raise ValidationError({"building": ["该楼栋不属于本居民区"]})
    place_ref = given["place_ref"] if given.get("place_ref") is not None else shift.place_ref
    place_kind = str(given["place_kind"]) if given.get("place_kind") is not None else shift.place_kind

    def value(name):
        return given[name] if given.get(name) is not None else getattr(shift, name)

    def run():
        s = services.shift_update(
            actor=user,
            shift=shift,
            date=value("date"),
            start=value("start"),
            end=value("end"),
            needed=value("needed"),
            place=value("place") if "place" in given else ("" if place_ref else shift.place),
            place_kind=place_kind,
            place_ref=place_ref,
            building=building,
            note=value("note"),
        )
        return 200, _shift_body(s)

    return _run(f"volunteers.shift_update:{user.pk}:{shift.pk}", payload.idempotency_key, run)


class AssignIn(Schema):
    volunteer: Id
    idempotency_key: Key


class AssignmentOut(Schema):
    id: int
    shift: int
    volunteer: int
    status: str
    checked_in_at: dt.datetime | None
    checked_out_at: dt.datetime | None
    hours: Decimal


def _assignment_body(a) -> dict:
    return {
        "id": a.pk,
        "shift": a.shift_id,
        "volunteer": a.volunteer_id,
        "status": a.status,
        "checked_in_at": a.checked_in_at.isoformat() if a.checked_in_at else None,
        "checked_out_at": a.checked_out_at.isoformat() if a.checked_out_at else None,
        "hours": str(a.hours),
    }


def _shift_and_volunteer(user, shift_id: int, volunteer_id: int, *, self_ok: bool) -> tuple[Shift, Volunteer, str]:
    """The shift (visible to the user) and the volunteer the user may act for on it: staff with
    MANAGE_SHIFTS anyone of the neighbourhood, a team leader the team's members, a volunteer
    themselves (check-in/out only)."""
    shift = get_scoped_or_404(Shift.objects.select_related("team"), user, Action.VIEW_VOLUNTEERS, pk=shift_id)
    volunteers = Volunteer.objects.filter(neighbourhood_id=shift.neighbourhood_id)
    if can(user, Action.MANAGE_SHIFTS, shift):
        source = "staff"
    elif shift.team_id in selectors.led_team_ids(user):
        volunteers = volunteers.filter(memberships__team_id=shift.team_id)
        source = "leader"
    elif self_ok and selectors.my_volunteer(user) is not None:
        volunteers = volunteers.filter(user=user)
        source = "claim"
    else:
        raise PermissionDenied("没有权限为该班次排班或签到")
    volunteer = volunteers.filter(pk=volunteer_id).select_related("resident__household__building").first()
    if volunteer is None:
        raise Http404
    return shift, volunteer, source


@router.post(
    "/shifts/{shift_id}/assign", response=answers({201: AssignmentOut}, 403, 404, 409), summary="排班(经健康核验)"
)
def shift_assign(request, shift_id: Id, payload: AssignIn):
    user = request.auth
    shift, volunteer, source = _shift_and_volunteer(user, shift_id, payload.volunteer, self_ok=False)

    def run():
        a = services.shift_assign(actor=user, shift=shift, volunteer=volunteer, source=source)
        return 201, _assignment_body(a)

    return _run(f"volunteers.assign:{shift.pk}", payload.idempotency_key, run)


class CheckIn(Schema):
    volunteer: Id
    at: Instant | None = Field(None, description="ISO 时间, 默认现在")
    antigen_seen: bool = Field(
        False, description="社区外志愿者: 签到人已查验其当日抗原阴性(队伍要求当日抗原时; 本人签到不适用)"
    )
    idempotency_key: Key


@router.post("/shifts/{shift_id}/check-in", response=answers(AssignmentOut, 403, 404, 409), summary="签到(经健康核验)")
def shift_check_in(request, shift_id: Id, payload: CheckIn):
    user = request.auth
    shift, volunteer, source = _shift_and_volunteer(user, shift_id, payload.volunteer, self_ok=True)

    def run():
        a = services.check_in(
            actor=user,
            shift=shift,
            volunteer=volunteer,
            at=payload.at,
            source=source,
            antigen_seen=payload.antigen_seen,
        )
        return 200, _assignment_body(a)

    return _run(f"volunteers.check_in:{shift.pk}", payload.idempotency_key, run)


@router.post("/shifts/{shift_id}/check-out", response=answers(AssignmentOut, 403, 404, 409), summary="签退")
def shift_check_out(request, shift_id: Id, payload: CheckIn):
    user = request.auth
    shift, volunteer, _source = _shift_and_volunteer(user, shift_id, payload.volunteer, self_ok=True)

    def run():
        a = services.check_out(actor=user, shift=shift, volunteer=volunteer, at=payload.at)
        return 200, _assignment_body(a)

    return _run(f"volunteers.check_out:{shift.pk}", payload.idempotency_key, run)
