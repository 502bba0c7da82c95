"""Care on the home page: rows of "今天要做的事" and the owner's overdue card, the bulletin's
section and the trend line. Each counts through the user's scope with a few queries whose
number does not grow with the data."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from jiayuan.care import selectors
from jiayuan.care.choices import OPEN_STATUSES, Status
from jiayuan.care.models import CareRequest, RequestEvent, Suggestion, SuggestionGroup
from jiayuan.core.extensions import BulletinFigure, BulletinSection, TodayItem
from jiayuan.core.permissions import Action, Role
from jiayuan.core.scoping import can, roles

DESK = {Role.COMMITTEE_HEAD, Role.COMMITTEE_STAFF, Role.BUILDING_LEADER}


def today(request) -> list[TodayItem]:
    user = request.user
    if not can(user, Action.VIEW_REQUESTS):
        return []
    mine = roles(user)
    items: list[TodayItem] = []
    index = reverse("care:index")
    if can(user, Action.HANDLE_REQUESTS):
        owned = selectors.request_list(user=user, mine=True, overdue=True, action=Action.HANDLE_REQUESTS).count()
        items.append(
            TodayItem(
                ngettext("条我负责的诉求已超时", "条我负责的诉求已超时", owned),
                owned,
                f"{index}?mine=1&overdue=1",
                "bad",
            )
        )
        if mine & DESK:
            new = selectors.request_list(user=user, status=Status.NEW, action=Action.HANDLE_REQUESTS).count()
            items.append(TodayItem(ngettext("条新诉求待受理", "条新诉求待受理", new), new, f"{index}?status=new"))
        due = (
            selectors.visit_plans(user=user, visitor=user)
            .filter(selectors.missed_visits_q(timezone.localdate() + dt.timedelta(days=1)))
            .count()
        )
        items.append(
            TodayItem(ngettext("位居民今天该走访", "位居民今天该走访", due), due, reverse("care:visits") + "?mine=1")
        )
    if can(user, Action.MANAGE_CARE):
        overdue = selectors.request_list(user=user, overdue=True).count()
        items.append(
            TodayItem(ngettext("条诉求超时未办", "条诉求超时未办", overdue), overdue, f"{index}?overdue=1", "warn")
        )
        missed = selectors.missed_visits(user=user).count()
        items.append(
            TodayItem(
                ngettext("位困难居民超时未走访", "位困难居民超时未走访", missed), missed, reverse("care:visits"), "warn"
            )
        )
    if can(user, Action.MANAGE_SUGGESTIONS):
        waiting = selectors.suggestion_groups(user=user, open_only=True).count()
        items.append(
            TodayItem(ngettext("组居民意见待答复", "组居民意见待答复", waiting), waiting, reverse("care:suggestions"))
        )
    return items


def home_panel(request):
    """The overdue requests the signed-in user owns (themselves or their team), on their home page."""
    user = request.user
    if not can(user, Action.HANDLE_REQUESTS):
        return None
    overdue = list(selectors.request_list(user=user, mine=True, overdue=True, action=Action.HANDLE_REQUESTS)[:5])
    if not overdue:
        return None
    return "care/home_panel.html", {"overdue": overdue}


def _day_bounds(day: dt.date):
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, start + dt.timedelta(days=1)


def _counts(neighbourhood, day: dt.date) -> dict[str, int]:
    start, end = _day_bounds(day)
    nb = neighbourhood.pk
    return {
        "raised": CareRequest.objects.filter(neighbourhood_id=nb, created_at__gte=start, created_at__lt=end).count(),
        "handled": RequestEvent.objects.filter(
            request__neighbourhood_id=nb, status=Status.DONE, at__gte=start, at__lt=end
        ).count(),
        "answered": Suggestion.objects.filter(
            neighbourhood_id=nb, group__replied_at__gte=start, group__replied_at__lt=end
        ).count(),
    }


def bulletin(neighbourhood, day: dt.date) -> BulletinSection | None:
    """民呼我应 in the daily bulletin: requests raised and handled, suggestions answered (each with
    the day before), still open; lines name the common issues answered that day."""
    now, before = _counts(neighbourhood, day), _counts(neighbourhood, day - dt.timedelta(days=1))
    open_now = CareRequest.objects.filter(neighbourhood_id=neighbourhood.pk, status__in=OPEN_STATUSES).count()
    start, end = _day_bounds(day)
    answered = SuggestionGroup.objects.filter(
        neighbourhood_id=neighbourhood.pk, replied_at__gte=start, replied_at__lt=end
    ).order_by("replied_at")[:10]
    lines = tuple(_("答复“%(issue)s”:%(reply)s") % {"issue": g.title or g.summary, "reply": g.reply} for g in answered)
    if not any(now.values()) and not any(before.values()) and not open_now and not lines:
        return None
    return BulletinSection(
        key="care",
        title=_("民呼我应"),
        figures=(
            BulletinFigure("raised", _("新收诉求"), now["raised"], before["raised"], people=False, unit=_("件")),
            BulletinFigure("handled", _("办结诉求"), now["handled"], before["handled"], people=False, unit=_("件")),
            BulletinFigure("answered", _("答复意见"), now["answered"], before["answered"], people=False, unit=_("条")),
            BulletinFigure("open", _("未办结诉求"), open_now, None, people=False, unit=_("件")),
        ),
        lines=lines,
    )


def trend_requests(neighbourhood, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    """Requests raised per day."""
    lo, _hi = _day_bounds(start)
    _lo, hi = _day_bounds(end)
    rows = (
        CareRequest.objects.filter(neighbourhood_id=neighbourhood.pk, created_at__gte=lo, created_at__lt=hi)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Count("id"))
    )
    return {r["day"]: r["n"] for r in rows}


def trend_handled(neighbourhood, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    """Requests done per day."""
    lo, _hi = _day_bounds(start)
    _lo, hi = _day_bounds(end)
    rows = (
        RequestEvent.objects.filter(
            request__neighbourhood_id=neighbourhood.pk, status=Status.DONE, at__gte=lo, at__lt=hi
        )
        .annotate(day=TruncDate("at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Count("id"))
    )
    return {r["day"]: r["n"] for r in rows}
