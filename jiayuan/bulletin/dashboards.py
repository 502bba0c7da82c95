"""Reads that tolerate lag (served by a replica where one is configured): the 30-day trends of a
neighbourhood and the street/district roll-up, both from the apps' registered series and columns.

There is no district model: a district officer is a user with street-officer assignments on
several streets, and the roll-up groups their neighbourhoods by street, with a subtotal each.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from jiayuan.core import extensions
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import restrict
from jiayuan.places.models import Neighbourhood

__all__ = ["TREND_DAYS", "RollupRow", "rollup", "rollup_by_street", "trends"]

TREND_DAYS = 30


@dataclass
class RollupRow:
    neighbourhood_id: int
    name: str
    street_id: int
    street: str
    values: dict[str, int] = field(default_factory=dict)


def rollup(*, user, day: dt.date | None = None, sort: str = "", descending: bool = False) -> list[RollupRow]:
    """One row per neighbourhood the user may count, each registered column computed for all of
    them at once (a few queries per column, not per neighbourhood)."""
    day = day or timezone.localdate()
    nbs = list(
        restrict(Neighbourhood.objects.select_related("street"), user, Action.VIEW_COUNTS).order_by(
            "street__code", "code"
        )
    )
    ids = [nb.pk for nb in nbs]
    columns = extensions.rollup_columns()
    values = {c.key: (c.fn(ids, day) if ids else {}) for c in columns}
    rows = [
        RollupRow(
            nb.pk, nb.name, nb.street_id, nb.street.name, {c.key: int(values[c.key].get(nb.pk, 0)) for c in columns}
        )
        for nb in nbs
    ]
    if sort in values:
        rows.sort(key=lambda r: r.values[sort], reverse=descending)
    elif sort == "name":
        rows.sort(key=lambda r: r.name, reverse=descending)
    return rows


def rollup_by_street(rows: list[RollupRow]) -> list[dict]:
    """``[{"street_id", "street", "rows", "total"}]`` in the rows' street order."""
    streets: dict[int, dict] = {}
    for row in rows:
        group = streets.setdefault(
            row.street_id, {"street_id": row.street_id, "street": row.street, "rows": [], "total": {}}
        )
        group["rows"].append(row)
        for key, n in row.values.items():
            group["total"][key] = group["total"].get(key, 0) + n
    return list(streets.values())


def trends(neighbourhood, end: dt.date | None = None, days: int = TREND_DAYS) -> dict:
    """``{"days": [date…], "series": [{"key", "label", "values": [number | None…]}]}``."""
    end = end or timezone.localdate()
    start = end - dt.timedelta(days=days - 1)
    dates = [start + dt.timedelta(days=i) for i in range(days)]
    series = []
    for s in extensions.trend_series_list():
        data = s.fn(neighbourhood, start, end)
        series.append({"key": s.key, "label": str(s.label), "values": [data.get(d) for d in dates]})
    return {"days": dates, "series": series}
