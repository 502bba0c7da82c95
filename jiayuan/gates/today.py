"""Gates on shared pages: rows of "今天要做的事", the fever alert card, the bulletin section and
the trend line (``core.extensions``).

- guards and property staff: today's passages and refusals at their gates, fevers ("bad"),
  parcels to disinfect and parcels waiting too long (``VIEW_GATES`` / ``HANDLE_PARCELS``);
- committee: fevers at the gates today ("bad"), the alert card on the home page;
- volunteers and building leaders: parcels to carry to the doors of their buildings.

A fixed number of queries per row, whatever the number of passages or parcels.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from jiayuan.core.extensions import BulletinFigure, BulletinSection, TodayItem
from jiayuan.core.permissions import Action, Role
from jiayuan.core.scoping import can, roles
from jiayuan.gates import selectors
from jiayuan.gates.choices import ParcelStatus, Reason
from jiayuan.gates.models import Gate, GatePassage

GATE = {Role.GATE_GUARD, Role.PROPERTY_STAFF}
COMMITTEE = {Role.COMMITTEE_HEAD, Role.COMMITTEE_STAFF}
DELIVERERS = {Role.VOLUNTEER, Role.BUILDING_LEADER}


def today(request) -> list[TodayItem]:
    user = request.user
    mine = roles(user)
    items: list[TodayItem] = []
    if (mine & (GATE | COMMITTEE)) and can(user, Action.VIEW_GATES):
        counts = selectors.live_counts(user=user)
        passages = reverse("gates:passages")
        fevers = counts["fevers"]
        items.append(
            TodayItem(
                ngettext("人次门岗测温发热, 已拒绝通行", "人次门岗测温发热, 已拒绝通行", fevers),
                fevers,
                f"{passages}?reason=fever",
                "bad",
            )
        )
        if mine & GATE:
            moved = counts["passed_in"] + counts["passed_out"]
            items.append(
                TodayItem(ngettext("人次今日进出门岗", "人次今日进出门岗", moved), moved, reverse("gates:index"))
            )
            refused = counts["refused"]
            items.append(
                TodayItem(
                    ngettext("人次今日被拒绝通行", "人次今日被拒绝通行", refused), refused, f"{passages}?allowed=0"
                )
            )
    if (mine & GATE) and can(user, Action.HANDLE_PARCELS):
        parcels = selectors.parcel_list(user=user, waiting=True)
        arrived = parcels.filter(status=ParcelStatus.ARRIVED).count()
        url = reverse("gates:parcels")
        items.append(TodayItem(ngettext("件快递外卖待消杀", "件快递外卖待消杀", arrived), arrived, url))
        overdue = parcels.filter(arrived_at__lt=_cutoff(user)).count()
        items.append(TodayItem(ngettext("件快递滞留过久", "件快递滞留过久", overdue), overdue, url, "warn"))
    if (mine & DELIVERERS) and can(user, Action.HANDLE_PARCELS):
        to_door = selectors.parcel_list(user=user, status=ParcelStatus.DISINFECTED).count()
        items.append(
            TodayItem(ngettext("件快递待送上门", "件快递待送上门", to_door), to_door, reverse("gates:deliveries"))
        )
    return items


def _cutoff(user) -> dt.datetime:
    """The overdue threshold of the user's (first) neighbourhood with gates work."""
    from jiayuan.core.scoping import restrict
    from jiayuan.places.models import Neighbourhood

    nb = restrict(Neighbourhood.objects.order_by("code"), user, Action.HANDLE_PARCELS).values_list("pk", flat=True)
    first = nb.first()
    return selectors.overdue_before(first) if first else timezone.now() - dt.timedelta(hours=12)


def home_panel(request):
    """The committee's alert card: fevers at the gates today, who and where."""
    user = request.user
    if not (roles(user) & (COMMITTEE | GATE)) or not can(user, Action.VIEW_GATES):
        return None
    fevers = list(selectors.passage_list(user=user, day=timezone.localdate(), reason=Reason.FEVER)[:20])
    if not fevers:
        return None
    return "gates/home_panel.html", {"fevers": fevers}


# --- Bulletin and trend ------------------------------------------------------------------------

_BULLETIN_FIGURES = (
    ("passed_in", _("进")),
    ("passed_out", _("出")),
    ("visitors", _("访客")),
    ("vehicles", _("车辆")),
    ("refused", _("拒绝通行")),
    ("fevers", _("测温发热")),
)


def bulletin(neighbourhood, day: dt.date) -> BulletinSection | None:
    """门岗: per gate, today's figures beside yesterday's; closed and restricted gates as lines."""
    yesterday = day - dt.timedelta(days=1)
    gates = list(
        Gate.objects.filter(neighbourhood=neighbourhood).select_related("compound").order_by("compound__name", "name")
    )
    if not gates:
        return None
    totals = selectors.daily_totals(neighbourhood_id=neighbourhood.pk, days=[day, yesterday])
    figures = []
    for g in gates:
        now, before = totals.get((g.pk, day), {}), totals.get((g.pk, yesterday), {})
        if not now and not before:
            continue
        place = f"{g.compound.name} {g.name}"
        for key, label in _BULLETIN_FIGURES:
            people = key != "vehicles"
            figures.append(
                BulletinFigure(
                    f"gate{g.pk}_{key}", label, now.get(key, 0), before.get(key, 0), people=people, place=place
                )
            )
    lines = tuple(
        _("%(place)s: %(state)s") % {"place": f"{g.compound.name} {g.name}", "state": g.state_text}
        for g in gates
        if g.state != "open"
    )
    if not figures and not lines:
        return None
    return BulletinSection(key="gates", title=_("门岗"), figures=tuple(figures), lines=lines)


def _per_day(neighbourhood, start: dt.date, end: dt.date, *, allowed: bool) -> dict[dt.date, int]:
    rows = (
        GatePassage.objects.filter(neighbourhood=neighbourhood, day__gte=start, day__lte=end, allowed=allowed)
        .values_list("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    return dict(rows)


def trend_passages(neighbourhood, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    """Passages let through (in and out) per day."""
    return _per_day(neighbourhood, start, end, allowed=True)


def trend_refused(neighbourhood, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    """Passages refused per day."""
    return _per_day(neighbourhood, start, end, allowed=False)
