"""The missed-test list as xlsx: masked phones, one sheet, audited (count, round, building)."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from jiayuan.core.audit import audit_record
from jiayuan.core.exports import safe_row
from jiayuan.places.models import Building
from jiayuan.screening import selectors
from jiayuan.screening.models import Round

__all__ = ["missed_export"]

HEADER = ["楼栋", "单元", "室号", "姓名", "电话(脱敏)", "标签", "楼组长"]


def missed_export(*, actor: Any, round_: Round, building_id: int | None = None) -> bytes:
    residents = selectors.missed_list(user=actor, round_=round_, building_id=building_id)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("漏测名单")
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["D"].width = 12
    ws.column_dimensions["E"].width = 16
    bold = Font(bold=True)
    header = []
    for text in HEADER:
        cell = WriteOnlyCell(ws, value=text)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    # Every building leader of the round's neighbourhood in one query (not one per building).
    leaders = selectors.building_leaders(
        building_ids=Building.objects.filter(neighbourhood_id=round_.neighbourhood_id).values_list("id", flat=True)
    )
    count = 0
    for r in residents:
        h = r.household
        b_id = h.building_id if h else None
        ws.append(
            safe_row(
                [
                    h.building.name if h else "",
                    h.unit if h else "",
                    h.room if h else "",
                    r.name,
                    r.phone_masked,
                    "、".join(r.tag_labels),
                    "、".join(leaders.get(b_id, [])) if b_id else "",
                ]
            )
        )
        count += 1
    buf = io.BytesIO()
    wb.save(buf)
    audit_record(
        actor=actor,
        action="screening.missed_export",
        obj=round_,
        changes={"count": count, "building": building_id, "masked": True},
    )
    return buf.getvalue()
