"""Requests: priority and time limits, creation (staff, phone, household link), the lifecycle and
assignment."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiayuan.accounts.models import User
from jiayuan.care.choices import (
    OPEN_STATUSES,
    PRIORITY_TAGS,
    TRANSITIONS,
    Category,
    HandedOver,
    Source,
    Status,
    Urgency,
)
from jiayuan.care.models import (
    CareRequest,
    ErrandItem,
    RequestEvent,
)
from jiayuan.care.services._shared import _BASE, _RANK, _actor_label, _clean_text, clean_key, settings_for
from jiayuan.care.services.support import may_handle, may_read_content
from jiayuan.control.choices import ZoneLevel
from jiayuan.control.selectors import zone_levels
from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record
from jiayuan.people.models import Resident, ResidentTag
from jiayuan.places.models import Household

# Priority and time limits -------------------------------------------------------------------


def priority_for(*, urgency: str, resident: Resident | None, household: Household) -> tuple[str, list[str]]:
    """The priority of a request and why: emergencies are high; a resident tagged dialysis/chemo,
    pregnant, bedridden, elderly alone or without family raises it one step, and so does a
    sealed building (both: two steps)."""
    rank = _RANK.index(_BASE[urgency])
    reasons: list[str] = []
    if resident is not None:
        tags = set(ResidentTag.objects.filter(resident=resident, tag__in=PRIORITY_TAGS).values_list("tag", flat=True))
        if tags:
            rank += 1
            reasons += sorted(tags)
    if zone_levels(building_ids=[household.building_id]).get(household.building_id) == ZoneLevel.SEALED:
        rank += 1
        reasons.append("sealed")
    return _RANK[min(rank, 2)], reasons


def deadlines(neighbourhood_id: int, urgency: str, start) -> tuple[dt.datetime, dt.datetime]:
    s = settings_for(neighbourhood_id)
    return (
        start + dt.timedelta(minutes=s.accept_minutes(urgency)),
        start + dt.timedelta(hours=s.done_hours(urgency)),
    )


# Requests ---------------------------------------------------------------------------------------


def _event(req: CareRequest, actor, status: str, note: str = "", at=None) -> RequestEvent:
    return RequestEvent.objects.create(
        request=req,
        status=status,
        note=note,
        actor=_user(actor),
        actor_label=_actor_label(actor)[:150],
        at=at or timezone.now(),
    )


@transaction.atomic
def request_create(
    *,
    actor,
    household: Household,
    category: str,
    urgency: str,
    description: str = "",
    resident: Resident | None = None,
    source: str = Source.STAFF,
    idempotency_key: str = "",
    items: list[dict] | None = None,
) -> tuple[CareRequest, bool]:
    """Register a request; ``(request, created)`` (a retried key answers the first request)."""
    if category not in Category.values:
        raise ValidationError({"category": [_("请选择类别")]})
    if urgency not in Urgency.values:
        raise ValidationError({"urgency": [_("请选择紧急程度")]})
    if resident is not None and resident.household_id != household.pk:
        raise ValidationError({"resident": [_("该居民不属于此住户")]})
    description = _clean_text(description, "description", required=not items)
    key = clean_key(idempotency_key)
    if key:
        existing = CareRequest.objects.filter(household=household, idempotency_key=key).first()
        if existing is not None:
            return existing, False
    priority, reasons = priority_for(urgency=urgency, resident=resident, household=household)
    now = timezone.now()
    due, done_due = deadlines(household.neighbourhood_id, urgency, now)
    req = CareRequest(
        neighbourhood_id=household.neighbourhood_id,
        building_id=household.building_id,
        household=household,
        resident=resident,
        category=category,
        urgency=urgency,
        priority=priority,
        priority_reasons=reasons,
        description=description,
        source=source,
        created_by=_user(actor),
        created_at=now,
        due_at=due,
        done_due_at=done_due,
        idempotency_key=key,
    )
    try:
        with transaction.atomic():
            req.save(force_insert=True)
    except IntegrityError:
        existing = CareRequest.objects.filter(household=household, idempotency_key=key).first()
        if existing is None:
            raise
        return existing, False
    for item in items or ():
        errand_item_add(actor=actor, request=req, **item, audit=False)
    _event(req, actor, Status.NEW, at=now)
    audit_record(
        actor=actor,
        action="care.request_create",
        obj=req,
        changes={"category": category, "urgency": urgency, "priority": priority, "source": source},
    )
    return req, True


_STAMP = {
    Status.ACCEPTED: "accepted_at",
    Status.IN_PROGRESS: "started_at",
    Status.DONE: "done_at",
    Status.CONFIRMED: "confirmed_at",
    Status.REOPENED: "reopened_at",
    Status.CANCELLED: "closed_at",
}
# The household itself may only confirm or reopen what was done.
HOUSEHOLD_STEPS = (Status.CONFIRMED, Status.REOPENED)


class TransitionError(ValidationError):
    """A step the lifecycle does not allow from the request's status (HTTP 409 ``bad_transition``)."""


@transaction.atomic
def request_transition(
    *, actor, request: CareRequest, status: str, note: str = "", by_household: bool = False
) -> CareRequest:
    """Move a request one step: new → accepted → in progress → done → confirmed (or reopened)."""
    if status not in Status.values:
        raise ValidationError({"status": [_("不是可选的状态")]})
    note = _clean_text(note, "note", required=status == Status.REOPENED and by_household, limit=500)
    req = CareRequest.objects.select_for_update().get(pk=request.pk)
    if by_household and status not in HOUSEHOLD_STEPS:
        raise TransitionError(_("住户只能确认或重新打开已办结的诉求"))
    if status not in TRANSITIONS[req.status]:
        raise TransitionError(
            _("“%(from)s”的诉求不能改为“%(to)s”") % {"from": req.get_status_display(), "to": Status(status).label}
        )
    now = timezone.now()
    previous = req.status
    req.status = status
    setattr(req, _STAMP[status], now)
    fields = ["status", _STAMP[status]]
    if status == Status.ACCEPTED and req.assignee_id is None and _user(actor) is not None:
        req.assignee = actor
        fields.append("assignee")
    if status == Status.REOPENED:
        # A reopened request is due again, from now.
        req.due_at, req.done_due_at = deadlines(req.neighbourhood_id, req.urgency, now)
        req.done_at = None
        fields += ["due_at", "done_due_at", "done_at"]
    req.save(update_fields=fields)
    _event(req, actor, status, note, at=now)
    action = {
        Status.ACCEPTED: "care.request_accept",
        Status.IN_PROGRESS: "care.request_start",
        Status.DONE: "care.request_done",
        Status.CONFIRMED: "care.request_confirm",
        Status.REOPENED: "care.request_reopen",
        Status.CANCELLED: "care.request_cancel",
    }[status]
    audit_record(actor=actor, action=action, obj=req, changes={"from": previous, "to": status, "note": note})
    request.__dict__.update(req.__dict__)
    return req


@transaction.atomic
def request_assign(*, actor, request: CareRequest, user: User | None = None, team=None) -> CareRequest:
    """Give a request to a person (who must be able to handle it there) or to a team."""
    if (user is None) == (team is None):
        raise ValidationError({"user": [_("请指定一位负责人或一个队伍")]})
    req = CareRequest.objects.select_for_update().get(pk=request.pk)
    if req.status not in OPEN_STATUSES:
        raise TransitionError(_("已办结或已撤销的诉求不能再分派"))
    if user is not None:
        if req.is_psychological and not may_read_content(user, req):
            raise ValidationError({"user": [_("心理支持诉求只能分派给心理支持小组成员")]})
        if not user.is_active or not may_handle(user, req):
            raise ValidationError({"user": [_("此人不能办理这条诉求(不在其负责范围)")]})
        req.assignee = user
        fields = ["assignee"]
        target = str(user)
    else:
        if getattr(team, "neighbourhood_id", req.neighbourhood_id) != req.neighbourhood_id:
            raise ValidationError({"team": [_("队伍不属于本居民区")]})
        req.team = team
        fields = ["team"]
        target = str(team)
    req.save(update_fields=fields)
    _event(req, actor, req.status, _("分派给 %(who)s") % {"who": target})
    audit_record(actor=actor, action="care.request_assign", obj=req, changes={"to": target})
    request.__dict__.update(req.__dict__)
    return req


def errand_item_add(
    *,
    actor,
    request: CareRequest,
    name: str,
    quantity: str,
    hospital: str,
    handed_over: str = HandedOver.NONE,
    audit=True,
) -> ErrandItem:
    if request.category != Category.MEDICINE:
        raise ValidationError({"name": [_("只有代配药诉求可以添加药品")]})
    if handed_over not in HandedOver.values:
        raise ValidationError({"handed_over": [_("请选择交给跑腿人的凭证")]})
    item = ErrandItem.objects.create(
        request=request,
        name=_clean_text(name, "name", limit=100),
        quantity=_clean_text(quantity, "quantity", limit=40),
        hospital=_clean_text(hospital, "hospital", limit=100),
        handed_over=handed_over,
    )
    if audit:
        audit_record(actor=actor, action="care.errand_item_add", obj=request, changes={"medicine": item.name})
    return item
