"""Control's rows of "今天要做的事" on the home page (``core.extensions.today_item``).

- committee head/staff and building leaders: today's fever or symptom reports (``VIEW_CONTROL``),
  and the people under quarantine or home monitoring whose two checks of today are not all in
  (the health-check page's "未完成" list);
- committee head/staff: quarantines whose planned end has come (release them, or note why not).

One count query per row, whatever the number of quarantines and checks.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from jiayuan.control import selectors
from jiayuan.control.choices import QuarantineStatus, Slot
from jiayuan.control.models import HealthCheck
from jiayuan.core.extensions import TodayItem
from jiayuan.core.permissions import Action, Role
from jiayuan.core.scoping import can, roles

COMMITTEE = {Role.COMMITTEE_HEAD, Role.COMMITTEE_STAFF}
WATCHERS = {*COMMITTEE, Role.BUILDING_LEADER}


def today(request) -> list[TodayItem]:
    user = request.user
    mine = roles(user)
    if not (mine & WATCHERS) or not can(user, Action.VIEW_CONTROL):
        return []
    today_ = timezone.localdate()
    checks = reverse("control:checks")
    fevers = selectors.health_alerts(user=user, since=today_).count()
    items = [TodayItem(ngettext("人次今日发热或有症状", "人次今日发热或有症状", fevers), fevers, checks, "bad")]
    missing = checks_missing_count(user=user, on=today_)
    items.append(
        TodayItem(
            ngettext("人今日健康监测未完成", "人今日健康监测未完成", missing), missing, f"{checks}?missing=1", "warn"
        )
    )
    if mine & COMMITTEE:
        due = selectors.quarantines_due(user=user, on=today_).count()
        items.append(
            TodayItem(
                ngettext("人隔离期满, 待解除", "人隔离期满, 待解除", due), due, reverse("control:quarantines"), "warn"
            )
        )
    return items


def checks_missing_count(*, user, on) -> int:
    """What ``selectors.checks_due(missing_only=True)`` lists, counted in the database: active
    quarantines begun by ``on`` without both the morning and the afternoon check of that day."""
    day = HealthCheck.objects.filter(quarantine_id=OuterRef("pk"), on=on)
    return (
        selectors.quarantine_list(user=user, status=QuarantineStatus.ACTIVE)
        .filter(start_on__lte=on)
        .exclude(Exists(day.filter(slot=Slot.MORNING)) & Exists(day.filter(slot=Slot.AFTERNOON)))
        .order_by()
        .count()
    )
