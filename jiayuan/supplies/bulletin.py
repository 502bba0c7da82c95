"""What supplies gives the daily bulletin and the trend dashboard: group buys that arrived and
were delivered, handouts given. Group-buy titles and compounds, never a household or a person."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from jiayuan.core import extensions
from jiayuan.core.extensions import BulletinFigure, BulletinSection
from jiayuan.supplies.choices import OrderStatus
from jiayuan.supplies.models import GroupBuy, HandoutReceipt, Order

__all__ = ["register"]


def _counts(neighbourhood, day: dt.date) -> dict[str, int]:
    gbs = GroupBuy.objects.filter(neighbourhood=neighbourhood)
    return {
        "arrived": gbs.filter(arrived_at__date=day).count(),
        "delivered": gbs.filter(delivered_at__date=day).count(),
        "handouts": HandoutReceipt.objects.filter(neighbourhood=neighbourhood, received_at__date=day)
        .values("household_id")
        .distinct()
        .count(),
    }


def section(neighbourhood, day: dt.date) -> BulletinSection | None:
    today, before = _counts(neighbourhood, day), _counts(neighbourhood, day - dt.timedelta(days=1))
    if not any(today.values()) and not any(before.values()):
        return None
    lines = [
        _("%(compound)s「%(title)s」已到货") % {"compound": gb.compound.name, "title": gb.title}
        for gb in GroupBuy.objects.filter(neighbourhood=neighbourhood, arrived_at__date=day)
        .select_related("compound")
        .order_by("arrived_at", "id")[:10]
    ]
    figures = (
        BulletinFigure(
            "group_buys_arrived", _("团购到货"), today["arrived"], before["arrived"], people=False, unit=_("批")
        ),
        BulletinFigure(
            "group_buys_delivered", _("团购送达"), today["delivered"], before["delivered"], people=False, unit=_("批")
        ),
        BulletinFigure(
            "handouts", _("保供物资发放"), today["handouts"], before["handouts"], people=False, unit=_("户")
        ),
    )
    return BulletinSection(key="supplies", title=_("物资保障"), figures=figures, lines=tuple(str(x) for x in lines))


def orders_trend(neighbourhood, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    rows = (
        Order.objects.filter(neighbourhood=neighbourhood, created_at__date__range=(start, end))
        .exclude(status=OrderStatus.CANCELLED)
        .values_list("created_at__date")
        .annotate(n=Count("id"))
        .order_by()
    )
    return dict(rows)


def register() -> None:
    extensions.bulletin_section("supplies", section, order=40)
    extensions.trend_series("orders", _("团购订单"), orders_trend, order=40)
