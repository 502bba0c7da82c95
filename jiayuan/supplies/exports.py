"""Printable spreadsheets: the sorting sheet per building and a volunteer's delivery checklist.

Every value goes through ``core.exports.safe_cell``: an item or household text typed as
``=HYPERLINK(…)`` stays text, never a live formula.
"""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from jiayuan.core.exports import safe_cell, safe_row

THIN = Side(style="thin", color="999999")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD = PatternFill("solid", fgColor="F2F2F2")
BOLD = Font(bold=True)


def _sheet_title(text: str) -> str:
    for ch in "[]:*?/\\":
        text = text.replace(ch, " ")
    return text[:31] or "Sheet"


def _write_block(ws, row: int, title: str, items, block) -> int:
    ws.cell(row=row, column=1, value=safe_cell(title)).font = Font(bold=True, size=13)
    row += 1
    headers = ["住户", "收货方式", *[f"{i.name}({i.unit})" for i in items], "金额", "付款", "已送达"]
    for col, text in enumerate(headers, start=1):
        c = ws.cell(row=row, column=col, value=safe_cell(text))
        c.font, c.fill, c.border = BOLD, HEAD, BOX
    for r in block["rows"]:
        row += 1
        values = [
            r["household"].label,
            str(r["mode_label"]) + (" (代)" if r["proxy"] else ""),
            *r["quantities"],
            float(r["amount"]),
            "已付" if r["paid"] else "未付",
            "□",
        ]
        for col, value in enumerate(values, start=1):
            c = ws.cell(row=row, column=col, value=safe_cell(value))
            c.border = BOX
    row += 1
    totals = ["本楼合计", f"{block['households']} 户", *block["totals"], float(block["amount"]), "", ""]
    for col, value in enumerate(totals, start=1):
        c = ws.cell(row=row, column=col, value=safe_cell(value))
        c.font, c.border = BOLD, BOX
    return row + 2


def _finish(ws, columns: int) -> None:
    for col in range(1, columns + 1):
        ws.column_dimensions[get_column_letter(col)].width = 16 if col <= 2 else 11
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToHeight = 0
    for row in ws.iter_rows():
        for c in row:
            c.alignment = Alignment(vertical="center", wrap_text=True)


def sorting_xlsx(sheet: dict) -> bytes:
    """One worksheet per building (what the sorting team tapes on each building's pile) and a
    summary sheet with every building's totals."""
    gb, items = sheet["group_buy"], sheet["items"]
    wb = Workbook()
    summary = wb.active
    summary.title = "汇总"
    summary.append(safe_row([f"{gb.title} · {gb.delivery_date:%Y-%m-%d} · 分拣汇总"]))
    summary["A1"].font = Font(bold=True, size=13)
    summary.append(safe_row(["楼栋", "户数", *[f"{i.name}({i.unit})" for i in items], "金额"]))
    for b in sheet["buildings"]:
        summary.append(safe_row([b["building"].name, b["households"], *b["totals"], float(b["amount"])]))
    summary.append(["合计", sheet["households"], *sheet["totals"], float(sheet["amount"])])
    _finish(summary, len(items) + 3)
    for b in sheet["buildings"]:
        ws = wb.create_sheet(_sheet_title(b["building"].name))
        title = f"{gb.title} · {b['building'].compound.name} {b['building'].name}"
        if b["sealed"]:
            title += " · 封控楼:只送上门"
        _write_block(ws, 1, title, items, b)
        _finish(ws, len(items) + 5)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def checklist_xlsx(checklist: list[dict], username: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "送货清单"
    row = 1
    ws.cell(row=row, column=1, value=safe_cell(f"送货清单 · {username}")).font = Font(bold=True, size=14)
    row += 2
    width = 2
    for entry in checklist:
        gb, items = entry["group_buy"], entry["items"]
        width = max(width, len(items) + 5)
        for b in entry["buildings"]:
            title = f"{gb.title} · {b['building'].name}"
            if b["sealed"]:
                title += " · 封控楼:只送上门"
            row = _write_block(ws, row, title, items, b)
    _finish(ws, width)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
