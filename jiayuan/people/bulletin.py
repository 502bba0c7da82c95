"""What the people app gives the daily bulletin and the roll-up: residents and those present.

Counts only, never a name. Presence has no history: the day before is the bulletin's own
record of yesterday (the bulletin app fills it in), the number of residents the day before is
those registered by then.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiayuan.core import extensions
from jiayuan.core.extensions import BulletinFigure, BulletinSection
from jiayuan.people.choices import Presence
from jiayuan.people.models import Resident

__all__ = ["register"]


def _living(nb_ids) -> Resident:
    return Resident.objects.filter(neighbourhood_id__in=list(nb_ids)).exclude(presence=Presence.MOVED_OUT)


def residents_by_neighbourhood(nb_ids, day: dt.date) -> dict[int, int]:
    """Residents registered by the end of ``day`` (moved-out ones not counted)."""
    qs = _living(nb_ids)
    if day < timezone.localdate():  # today and later: every resident, without a date per row
        qs = qs.filter(created_at__date__lte=day)
    # COUNT(*), not COUNT(id): the (neighbourhood, presence) index alone answers (index-only scan).
    return dict(qs.values_list("neighbourhood_id").annotate(n=Count("*")).order_by())


def present_by_neighbourhood(nb_ids, day: dt.date) -> dict[int, int]:
    """Residents living here now (在住); presence is kept as it is today, without history."""
    rows = _living(nb_ids).filter(presence=Presence.PRESENT).values_list("neighbourhood_id").annotate(n=Count("*"))
    return dict(rows.order_by())


def section(neighbourhood, day: dt.date) -> BulletinSection:
    counts = _living([neighbourhood.pk]).aggregate(
        today=Count("id", filter=Q(created_at__date__lte=day)),
        yesterday=Count("id", filter=Q(created_at__date__lte=day - dt.timedelta(days=1))),
        present=Count("id", filter=Q(presence=Presence.PRESENT)),
    )
    return BulletinSection(
        key="residents",
        title=_("居民"),
        figures=(
            BulletinFigure("residents", _("登记居民"), counts["today"], counts["yesterday"], unit=_("人")),
            BulletinFigure("present", _("在住"), counts["present"], None, unit=_("人")),
        ),
    )


def register() -> None:
    extensions.bulletin_section("residents", section, order=10)
    extensions.rollup_column("residents", _("居民"), residents_by_neighbourhood, order=10)
    extensions.rollup_column("present", _("在住"), present_by_neighbourhood, order=11)
