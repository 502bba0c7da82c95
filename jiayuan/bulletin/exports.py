"""xlsx downloads of the dashboards (counts only; every cell through ``core.exports.safe_cell``)."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from jiayuan.bulletin.dashboards import RollupRow, rollup_by_street
from jiayuan.core import extensions
from jiayuan.core.xlsx import Sheet, tables_xlsx, xlsx_response


def trends_xlsx(neighbourhood, data: dict):
    header = [_("日期"), *[s["label"] for s in data["series"]]]
    rows = [[d.isoformat(), *[s["values"][i] for s in data["series"]]] for i, d in enumerate(data["days"])]
    sheet = Sheet(name=_("趋势"), header=header, rows=rows, title=_("%(nb)s 近30天趋势") % {"nb": neighbourhood.name})
    return xlsx_response(tables_xlsx([sheet]), f"{neighbourhood.name}-趋势.xlsx")


def rollup_xlsx(day: dt.date, rows: list[RollupRow]):
    columns = extensions.rollup_columns()
    header = [_("街道"), _("居民区"), *[str(c.label) for c in columns]]
    sheets = []
    for group in rollup_by_street(rows):
        body = [[r.street, r.name, *[r.values[c.key] for c in columns]] for r in group["rows"]]
        total = [group["street"], _("合计"), *[group["total"].get(c.key, 0) for c in columns]]
        sheets.append(
            Sheet(
                name=group["street"],
                header=header,
                rows=body,
                total=total,
                title=_("%(street)s 汇总 %(day)s") % {"street": group["street"], "day": day.isoformat()},
            )
        )
    if not sheets:
        sheets.append(Sheet(name=_("汇总"), header=header, rows=[]))
    return xlsx_response(tables_xlsx(sheets), f"汇总-{day.isoformat()}.xlsx")
