"""The volunteers section of the daily bulletin and the trend line of volunteer hours.

Figures only (people who served, hours, shifts short of people), each with the day before;
no names.
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext_lazy as _

from jiayuan.core.extensions import BulletinFigure, BulletinSection
from jiayuan.volunteers import selectors


def _nb_id(neighbourhood) -> int:
    return getattr(neighbourhood, "pk", neighbourhood)


def bulletin(neighbourhood, day: dt.date) -> BulletinSection | None:
    nb = _nb_id(neighbourhood)
    now = selectors.day_figures(nb, day)
    before = selectors.day_figures(nb, day - dt.timedelta(days=1))
    if not any((now["served"], now["hours"], now["short"], before["served"], before["hours"])):
        return None
    return BulletinSection(
        key="volunteers",
        title=_("志愿者"),
        figures=(
            BulletinFigure("served", _("在岗志愿者"), now["served"], before["served"], people=True, unit=_("人")),
            BulletinFigure(
                "hours", _("志愿服务时长"), float(now["hours"]), float(before["hours"]), people=False, unit=_("小时")
            ),
            BulletinFigure("short", _("缺人的班次"), now["short"], before["short"], people=False, unit=_("个")),
        ),
    )


def hours_trend(neighbourhood, start: dt.date, end: dt.date) -> dict[dt.date, float]:
    return selectors.hours_per_day(_nb_id(neighbourhood), start, end)


def served_by_neighbourhood(neighbourhood_ids, day: dt.date) -> dict[int, int]:
    """Street roll-up column: volunteers who served (checked in) on ``day``, per neighbourhood, in
    one query."""
    return selectors.served_by_neighbourhood(list(neighbourhood_ids), day)
