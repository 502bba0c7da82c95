"""Operations' rows of "今天要做的事" (``today_item``), its bulletin section and trend lines.

Rows, counted through the user's scope in a few queries however many points or buildings:
overdue tasks and fixes awaiting a check (those who manage tasks), disinfection rounds overdue
and buildings whose garbage is missed (those who record operations).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from jiayuan.core.extensions import BulletinFigure, BulletinSection, TodayItem
from jiayuan.core.permissions import Action, Role
from jiayuan.core.scoping import can, restrict, roles
from jiayuan.operations import selectors
from jiayuan.operations.choices import OPEN_TASK_STATUSES, TaskStatus
from jiayuan.operations.models import Task
from jiayuan.operations.services import COORDINATORS

WORKERS = {Role.COMMITTEE_HEAD, Role.COMMITTEE_STAFF, Role.PROPERTY_STAFF, Role.OWNERS_COMMITTEE}


def today(request) -> list[TodayItem]:
    user = request.user
    mine = roles(user)
    items: list[TodayItem] = []
    if mine & WORKERS and can(user, Action.MANAGE_TASKS):
        tasks = restrict(Task.objects.all(), user, Action.MANAGE_TASKS)
        counts = tasks.aggregate(  # one query for both rows
            late=Count("id", filter=Q(status__in=OPEN_TASK_STATUSES, due_at__lt=timezone.now())),
            fixed=Count("id", filter=Q(status=TaskStatus.FIXED)),
        )
        late = counts["late"]
        items.append(
            TodayItem(
                ngettext("项整改任务已逾期", "项整改任务已逾期", late),
                late,
                f"{reverse('operations:tasks')}?overdue=1",
                "warn",
            )
        )
        if mine & COORDINATORS:
            fixed = counts["fixed"]
            items.append(
                TodayItem(
                    ngettext("项整改待验收", "项整改待验收", fixed),
                    fixed,
                    f"{reverse('operations:tasks')}?status={TaskStatus.FIXED}",
                )
            )
    if mine & (WORKERS | {Role.VOLUNTEER, Role.BUILDING_LEADER}) and can(user, Action.RECORD_OPERATIONS):
        action = Action.RECORD_OPERATIONS
        board = selectors.disinfection_board(user=user, action=action)
        overdue = sum(1 for r in board if r["overdue"])
        items.append(
            TodayItem(
                ngettext("个点位消杀已超时", "个点位消杀已超时", overdue),
                overdue,
                reverse("operations:disinfection"),
                "warn",
            )
        )
        missed = sum(1 for r in selectors.garbage_board(user=user, action=action) if r["missed"])
        items.append(
            TodayItem(
                ngettext("栋楼今天垃圾未清运", "栋楼今天垃圾未清运", missed),
                missed,
                reverse("operations:garbage"),
                "warn",
            )
        )
    return items


def _id(neighbourhood) -> int:
    return getattr(neighbourhood, "pk", neighbourhood)


def bulletin(neighbourhood, day: dt.date) -> BulletinSection | None:
    """Disinfection and garbage rounds done, findings logged and fixed, each beside the day
    before's; the buildings whose garbage was not collected are named."""
    neighbourhood = _id(neighbourhood)
    now = selectors.day_figures(neighbourhood, day)
    before = selectors.day_figures(neighbourhood, day - dt.timedelta(days=1))
    if not any(now.values()) and not any(before.values()):
        return None
    labels = {
        "disinfections": (_("消杀"), _("次")),
        "garbage": (_("垃圾清运"), _("栋")),
        "findings": (_("巡查发现"), _("处")),
        "fixed": (_("整改完成"), _("项")),
    }
    figures = tuple(
        BulletinFigure(key, label, now[key], before[key], people=False, unit=unit)
        for key, (label, unit) in labels.items()
    )
    lines = ()
    is_past = day < timezone.localdate()
    if now["garbage"] or is_past:
        missed = selectors.garbage_missed_buildings(neighbourhood, day)
        if missed:
            lines = (_("垃圾未清运: %(buildings)s") % {"buildings": "、".join(missed)},)
    return BulletinSection("operations", _("巡查消杀"), figures, lines)


def trend_disinfections(neighbourhood, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    return selectors.disinfections_per_day(_id(neighbourhood), start, end)


def trend_findings(neighbourhood, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    return selectors.findings_per_day(_id(neighbourhood), start, end)


def rollup_open_tasks(neighbourhood_ids, day: dt.date) -> dict[int, int]:
    """Tasks not yet fixed at the end of ``day``, per neighbourhood (one query)."""
    from django.db.models import Count

    tz = timezone.get_current_timezone()
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    rows = (
        Task.objects.filter(neighbourhood_id__in=list(neighbourhood_ids), created_at__lt=end)
        .filter(Q(fixed_at__isnull=True) | Q(fixed_at__gte=end))
        .values("neighbourhood_id")
        .annotate(n=Count("id"))
        .values_list("neighbourhood_id", "n")
        .order_by()
    )
    return dict(rows)


def home_panel(request):
    """A card on the home page for those who log rounds and findings but have no 巡查消杀 menu
    entry (volunteers of the patrol or disinfection teams): the way to their boards."""
    user = request.user
    if can(user, Action.VIEW_OPERATIONS) or not can(user, Action.RECORD_OPERATIONS):
        return None
    return "operations/home_panel.html", {"leads_team": bool(selectors.led_team_ids(user))}
