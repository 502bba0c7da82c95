"""What every spreadsheet export (xlsx or CSV) writes into a cell.

A text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a
formula by Excel, WPS and LibreOffice (CSV/formula injection: a ``HYPERLINK`` over neighbouring
cells could send ID numbers and phones out when clicked). Such a text is written with a leading
apostrophe, which spreadsheet programs show as plain text. Numbers, dates and ``None`` pass
through unchanged: they are never formulas.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FORMULA_PREFIXES", "safe_cell", "safe_row"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` as it may be written into an exported cell."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_row(values) -> list[Any]:
    return [safe_cell(v) for v in values]
