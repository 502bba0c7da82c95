"""民呼我应 API: requests (staff token or the household link token in the body), their assignment
and lifecycle, suggestions and the replies to their groups.

A psychological-support request's ``description`` (and its steps' notes) is null for callers
outside the support group and the committee head; only they may change such a request (403).
A lifecycle step the request's status does not allow is 409 ``bad_transition``; replying twice
to a group is 409 ``already_replied``.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db.models import Q
from ninja import Query, Router, Schema, Status
from ninja.errors import AuthenticationError
from ninja.pagination import paginate
from pydantic import Field

from jiayuan.accounts.models import User
from jiayuan.accounts.services import household_link_resolve
from jiayuan.care import selectors, services
from jiayuan.care.choices import Category, Urgency
from jiayuan.care.choices import Status as ReqStatus
from jiayuan.care.models import CareRequest
from jiayuan.core.api import API_AUTH, Id, Pagination, answers
from jiayuan.core.idempotency import run_idempotent
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import get_scoped_or_404, restrict
from jiayuan.people.models import Resident
from jiayuan.places.models import Household

router = Router(tags=["care"])


def _link_actor(link) -> str:
    return f"household-link:{link.pk}"


def _staff_user(request):
    for auth in API_AUTH:
        user = auth(request)
        if user:
            return user
    return None


def _conflict(detail: str, code: str):
    return Status(409, {"detail": detail, "code": code, "errors": []})


def _caller(request, *, token, household_id, resident_id, actions: tuple[str, ...]):
    """``(actor, household, resident, user)`` from a link token or a staff login."""
    if token:
        link = household_link_resolve(token)
        if link is None:
            raise AuthenticationError
        household = link.household
        resident = None
        if resident_id is not None:
            resident = household.residents.filter(pk=resident_id).first()
            if resident is None:
                raise ValidationError({"resident": ["该居民不属于此住户"]})
        return _link_actor(link), household, resident, None
    user = _staff_user(request)
    if user is None:
        raise AuthenticationError
    resident = None
    if resident_id is not None:
        q = Q()
        for action in actions:
            q |= Q(pk__in=restrict(Resident.objects.all(), user, action).values("pk"))
        resident = get_scoped_or_404(Resident.objects.filter(q), user, actions[0], pk=resident_id)
        if resident.household_id is None:
            raise ValidationError({"resident": ["该居民没有登记住户"]})
        if household_id is not None and household_id != resident.household_id:
            raise ValidationError({"household": ["该居民不属于此住户"]})
        household_id = resident.household_id
    if household_id is None:
        raise ValidationError({"household": ["请指定住户或居民"]})
    q = Q()
    for action in actions:
        q |= Q(pk__in=restrict(Household.objects.all(), user, action).values("pk"))
    household = get_scoped_or_404(
        Household.objects.filter(q).select_related("building"), user, actions[0], pk=household_id
    )
    return user, household, resident, user


class RequestIn(Schema):
    household_token: str | None = Field(None, max_length=500, description="住户链接令牌(住户自己提交)")
    household: Id | None = Field(None, description="住户 id(工作人员登记)")
    resident: Id | None = Field(None, description="诉求涉及的居民 id")
    category: Category
    urgency: Urgency = Urgency.ROUTINE
    description: str = Field("", max_length=2000)
    idempotency_key: str = Field("", max_length=200)


class RequestCreatedOut(Schema):
    id: int
    priority: str
    status: str
    due_at: dt.datetime


class EventOut(Schema):
    status: str
    at: dt.datetime
    note: str | None
    actor: str


class RequestOut(Schema):
    id: int
    household: int
    household_label: str
    building_id: int
    resident: int | None
    category: str
    urgency: str
    priority: str
    priority_reasons: list[str]
    status: str
    description: str | None = Field(description="心理支持诉求对小组以外的人为 null")
    source: str
    assignee: int | None
    team: int | None
    created_at: dt.datetime
    due_at: dt.datetime
    done_due_at: dt.datetime
    overdue: bool
    accepted_at: dt.datetime | None
    started_at: dt.datetime | None
    done_at: dt.datetime | None
    confirmed_at: dt.datetime | None
    reopened_at: dt.datetime | None


class RequestDetailOut(RequestOut):
    events: list[EventOut]


def _body(req: CareRequest, user, *, events: bool = False) -> dict:
    readable = services.may_read_content(user, req)
    body = {
        "id": req.pk,
        "household": req.household_id,
        "household_label": str(req.household),
        "building_id": req.building_id,
        "resident": req.resident_id,
        "category": req.category,
        "urgency": req.urgency,
        "priority": req.priority,
        "priority_reasons": list(req.priority_reasons or []),
        "status": req.status,
        "description": req.description if readable else None,
        "source": req.source,
        "assignee": req.assignee_id,
        "team": req.team_id,
        "created_at": req.created_at,
        "due_at": req.due_at,
        "done_due_at": req.done_due_at,
        "overdue": req.is_overdue,
        "accepted_at": req.accepted_at,
        "started_at": req.started_at,
        "done_at": req.done_at,
        "confirmed_at": req.confirmed_at,
        "reopened_at": req.reopened_at,
    }
    if events:
        body["events"] = [
            {"status": e.status, "at": e.at, "note": e.note if readable else None, "actor": e.actor_label}
            for e in req.events.all()
        ]
    return body


@router.post(
    "/requests",
    auth=None,
    response=answers({201: RequestCreatedOut}, 403, 404),
    summary="登记诉求(住户链接令牌或工作人员)",
)
def request_create(request, payload: RequestIn):
    actor, household, resident, user = _caller(
        request,
        token=payload.household_token,
        household_id=payload.household,
        resident_id=payload.resident,
        actions=(Action.HANDLE_REQUESTS,),
    )
    source = services.Source.LINK if user is None else services.Source.API
    req, _created = services.request_create(
        actor=actor,
        household=household,
        resident=resident,
        category=payload.category,
        urgency=payload.urgency,
        description=payload.description,
        source=source,
        idempotency_key=payload.idempotency_key,
    )
    return Status(201, {"id": req.pk, "priority": req.priority, "status": req.status, "due_at": req.due_at})


class RequestFilters(Schema):
    status: ReqStatus | None = None
    category: Category | None = None
    overdue: bool | None = Field(None, description="true: 只看超时; false: 只看未超时")


@router.get("/requests", response=answers(list[RequestOut]), summary="诉求列表")
@paginate(Pagination)
def request_list(request, filters: Query[RequestFilters]):
    user = request.auth
    qs = selectors.request_list(
        user=user, status=filters.status or "", category=filters.category or "", overdue=filters.overdue
    )
    return _Bodies(qs, user)


class _Bodies:
    """A queryset read lazily through ``_body`` (the paginator slices it first)."""

    def __init__(self, qs, user):
        self.qs, self.user = qs, user

    def __len__(self):
        return self.qs.count()

    def count(self):
        return self.qs.count()

    def __getitem__(self, item):
        return [_body(r, self.user) for r in self.qs[item]]


@router.get("/requests/{request_id}", response=answers(RequestDetailOut, 404), summary="诉求详情")
def request_detail(request, request_id: Id):
    req = selectors.request_get(user=request.auth, request_id=request_id)
    return _body(req, request.auth, events=True)


def _handled(request, request_id: int) -> CareRequest:
    from django.core.exceptions import PermissionDenied

    user = request.auth
    req = selectors.request_get(user=user, request_id=request_id, action=Action.HANDLE_REQUESTS)
    if not services.may_read_content(user, req):
        raise PermissionDenied("心理支持诉求由心理支持小组办理")
    return req


class AssignIn(Schema):
    user: Id | None = None
    team: Id | None = None


@router.post(
    "/requests/{request_id}/assign", response=answers(RequestOut, 403, 404, 409), summary="分派诉求(给人或队伍)"
)
def request_assign(request, request_id: Id, payload: AssignIn):
    req = _handled(request, request_id)
    user = team = None
    if payload.user is not None:
        user = User.objects.filter(pk=payload.user, is_active=True).first()
        if user is None:
            raise ValidationError({"user": ["没有这位工作人员"]})
    if payload.team is not None:
        from jiayuan.volunteers.models import Team

        team = Team.objects.filter(pk=payload.team, neighbourhood_id=req.neighbourhood_id, active=True).first()
        if team is None:
            raise ValidationError({"team": ["本居民区没有这个队伍"]})
    try:
        services.request_assign(actor=request.auth, request=req, user=user, team=team)
    except services.TransitionError as exc:
        return _conflict(exc.messages[0], "bad_transition")
    return _body(req, request.auth)


class StatusIn(Schema):
    status: ReqStatus
    note: str = Field("", max_length=500)


@router.post(
    "/requests/{request_id}/status", response=answers(RequestOut, 403, 404, 409), summary="诉求进展(受理、办理、办结…)"
)
def request_status(request, request_id: Id, payload: StatusIn):
    req = _handled(request, request_id)
    try:
        services.request_transition(actor=request.auth, request=req, status=payload.status, note=payload.note)
    except services.TransitionError as exc:
        return _conflict(exc.messages[0], "bad_transition")
    return _body(req, request.auth)


class SuggestionIn(Schema):
    household_token: str | None = Field(None, max_length=500)
    household: Id | None = None
    resident: Id | None = None
    text: str = Field(..., max_length=500)
    idempotency_key: str = Field("", max_length=200)


class SuggestionCreatedOut(Schema):
    id: int
    group: int


@router.post("/suggestions", auth=None, response=answers({201: SuggestionCreatedOut}, 403, 404), summary="提交意见建议")
def suggestion_create(request, payload: SuggestionIn):
    actor, household, resident, _user = _caller(
        request,
        token=payload.household_token,
        household_id=payload.household,
        resident_id=payload.resident,
        actions=(Action.MANAGE_SUGGESTIONS, Action.HANDLE_REQUESTS),
    )

    def run():
        s = services.suggestion_submit(actor=actor, household=household, resident=resident, text=payload.text)
        return 201, {"id": s.pk, "group": s.group_id}

    key = services.clean_key(payload.idempotency_key)
    return Status(*run_idempotent(scope=f"care.suggestion:{household.pk}", key=key, fn=run))


class GroupOut(Schema):
    id: int
    size: int
    supporters: int
    suggestions: list[int]
    summary: str
    title: str
    reply: str
    replied_at: dt.datetime | None

    @staticmethod
    def resolve_suggestions(obj):
        return [s.pk for s in obj.suggestions.all()]


class GroupFilters(Schema):
    open: bool | None = Field(None, description="true: 只看未答复的")


@router.get("/suggestion-groups", response=answers(list[GroupOut]), summary="意见分组(相似意见归为一组)")
@paginate(Pagination)
def group_list(request, filters: Query[GroupFilters]):
    return selectors.suggestion_groups(user=request.auth, open_only=bool(filters.open))


class ReplyIn(Schema):
    text: str = Field(..., max_length=2000)


@router.post(
    "/suggestion-groups/{group_id}/reply",
    response=answers(GroupOut, 403, 404, 409),
    summary="答复一组意见(每位提出者的住户页面都能看到)",
)
def group_reply(request, group_id: Id, payload: ReplyIn):
    group = selectors.suggestion_group_get(user=request.auth, group_id=group_id)
    try:
        services.group_reply(actor=request.auth, group=group, text=payload.text)
    except services.TransitionError as exc:
        return _conflict(exc.messages[0], "already_replied")
    return selectors.suggestion_groups(user=request.auth).get(pk=group.pk)
