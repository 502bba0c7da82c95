"""Small styled xlsx tables (summary counts, round progress) and the download response.

Every value goes through ``core.exports.safe_cell`` (no formula-leading text); the sheet is set
to print on A4 landscape, one page wide.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from jiayuan.core.exports import safe_cell

__all__ = ["XLSX_CONTENT_TYPE", "Sheet", "tables_xlsx", "xlsx_response"]

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_BAD_TITLE_CHARS = "[]:*?/\\"


@dataclass
class Sheet:
    name: str
    header: Sequence[Any]
    rows: Iterable[Sequence[Any]]
    title: str = ""  # a line above the header (place and date)
    total: Sequence[Any] | None = None
    widths: dict[int, float] = field(default_factory=dict)  # 1-based column -> width


def _sheet_name(text: str) -> str:
    for ch in _BAD_TITLE_CHARS:
        text = text.replace(ch, " ")
    return text[:31] or "Sheet"


def tables_xlsx(sheets: Sequence[Sheet]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    for spec in sheets:
        ws = wb.create_sheet(_sheet_name(spec.name))
        if spec.title:
            ws.append([safe_cell(spec.title)])
            ws.cell(row=1, column=1).font = Font(bold=True, size=13)
        ws.append([safe_cell(str(h)) for h in spec.header])
        header_row = ws.max_row
        for cell in ws[header_row]:
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        for row in spec.rows:
            ws.append([safe_cell(v) for v in row])
        if spec.total is not None:
            ws.append([safe_cell(v) for v in spec.total])
            for cell in ws[ws.max_row]:
                cell.font = bold
        ws.freeze_panes = ws.cell(row=header_row + 1, column=2)
        for col in range(1, len(spec.header) + 1):
            ws.column_dimensions[get_column_letter(col)].width = spec.widths.get(col, 18 if col == 1 else 9)
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def xlsx_response(data: bytes, filename: str) -> HttpResponse:
    """A download; ``filename`` may be Chinese (RFC 5987 ``filename*``, ASCII fallback)."""
    response = HttpResponse(data, content_type=XLSX_CONTENT_TYPE)
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in filename)
    response["Content-Disposition"] = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
    return response
