"""Visits to residents who need care: plans kept in step with the roster's tags, visits recorded."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiayuan.accounts.models import User
from jiayuan.care.choices import (
    VISIT_TAGS,
    Category,
    Source,
    Urgency,
    VisitFinding,
    VisitMode,
)
from jiayuan.care.models import (
    Visit,
    VisitPlan,
)
from jiayuan.care.services._shared import _clean_text, settings_for
from jiayuan.care.services.requests import request_create
from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can
from jiayuan.people.models import ResidentTag

# Visits ----------------------------------------------------------------------------------------


@transaction.atomic
def visit_plans_sync(*, actor, neighbourhood_id: int) -> int:
    """A visit plan for every present resident tagged for visits who has none yet (frequency from
    the settings: the most frequent of their tags); plans of residents no longer tagged end."""
    s = settings_for(neighbourhood_id)
    days = {tag: min(30, max(1, int(s.visit_days.get(tag) or 1))) for tag in VISIT_TAGS if s.visit_days.get(tag)}
    tagged: dict[int, tuple[str, int]] = {}
    rows = ResidentTag.objects.filter(
        tag__in=list(days), resident__neighbourhood_id=neighbourhood_id, resident__household__isnull=False
    ).values_list("resident_id", "tag", "resident__household__building_id")
    building_of: dict[int, int] = {}
    for rid, tag, bid in rows:
        building_of[rid] = bid
        if rid not in tagged or days[tag] < tagged[rid][1]:
            tagged[rid] = (tag, days[tag])
    existing = {p.resident_id: p for p in VisitPlan.objects.filter(neighbourhood_id=neighbourhood_id)}
    new = [
        VisitPlan(
            neighbourhood_id=neighbourhood_id,
            building_id=building_of[rid],
            resident_id=rid,
            tag=tag,
            every_days=every,
            mode=VisitMode.DOOR if tag == "bedridden" else VisitMode.PHONE,
        )
        for rid, (tag, every) in tagged.items()
        if rid not in existing
    ]
    VisitPlan.objects.bulk_create(new)
    ended = [p.pk for rid, p in existing.items() if rid not in tagged and p.active]
    VisitPlan.objects.filter(pk__in=ended).update(active=False)
    changed = [p for rid, p in existing.items() if rid in tagged and (p.tag, p.every_days) != tagged[rid]]
    for p in changed:
        p.tag, p.every_days = tagged[p.resident_id]
        p.active = True
    VisitPlan.objects.bulk_update(changed, ["tag", "every_days", "active"])
    if new or ended or changed:
        audit_record(
            actor=actor,
            action="care.visit_plans_sync",
            object_type="care.visitplan",
            object_repr=_("走访计划"),
            neighbourhood_id=neighbourhood_id,
            changes={"created": len(new), "ended": len(ended), "changed": len(changed)},
        )
    return len(new)


@transaction.atomic
def visit_plan_update(*, actor, plan: VisitPlan, visitor: User | None, every_days: int, mode: str) -> VisitPlan:
    if not 1 <= int(every_days) <= 30:
        raise ValidationError({"every_days": [_("每 1 至 30 天一次")]})
    if mode not in VisitMode.values:
        raise ValidationError({"mode": [_("请选择方式")]})
    if visitor is not None and not can(visitor, Action.VIEW_REQUESTS, plan):
        raise ValidationError({"visitor": [_("此人不负责这位居民所在的楼栋")]})
    plan.visitor, plan.every_days, plan.mode = visitor, int(every_days), mode
    plan.save(update_fields=["visitor", "every_days", "mode"])
    audit_record(
        actor=actor,
        action="care.visit_plan_update",
        obj=plan,
        changes={"visitor": str(visitor or ""), "every_days": plan.every_days, "mode": mode},
    )
    return plan


# A visit finding that needs help becomes a request of this category in one tap.
FINDING_REQUEST = {
    VisitFinding.MEALS: (Category.ELDERLY_CARE, Urgency.TODAY),
    VisitFinding.MEDICINE: (Category.MEDICINE, Urgency.TODAY),
    VisitFinding.GROCERIES: (Category.SHORTAGE, Urgency.TODAY),
    VisitFinding.UNWELL: (Category.MEDICAL_TRIP, Urgency.EMERGENCY),
}


@transaction.atomic
def visit_record(*, actor, plan: VisitPlan, finding: str, mode: str = "", note: str = "") -> Visit:
    """Record a check; a finding that needs help raises a request for the resident at once."""
    if finding not in VisitFinding.values:
        raise ValidationError({"finding": [_("请选择情况")]})
    note = _clean_text(note, "note", required=False, limit=200)
    now = timezone.now()
    visit = Visit.objects.create(
        plan=plan, visitor=_user(actor), at=now, mode=mode or plan.mode, finding=finding, note=note
    )
    if finding != VisitFinding.NO_ANSWER:
        plan.last_visit_at = now
        plan.save(update_fields=["last_visit_at"])
    if finding in FINDING_REQUEST:
        category, urgency = FINDING_REQUEST[finding]
        resident = plan.resident
        text = VisitFinding(finding).label + (f":{note}" if note else "")
        req, _c = request_create(
            actor=actor,
            household=resident.household,
            resident=resident,
            category=category,
            urgency=urgency,
            description=text,
            source=Source.VISIT,
        )
        visit.request = req
        visit.save(update_fields=["request"])
    audit_record(actor=actor, action="care.visit_record", obj=plan, changes={"finding": finding})
    return visit


def visit_missed(plan: VisitPlan, today: dt.date | None = None) -> bool:
    """A check is missed once its due day has passed without one."""
    return plan.active and plan.next_due() < (today or timezone.localdate())
