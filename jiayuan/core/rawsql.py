"""Model rows read with hand-written SQL on the hot paths, as the ORM would have read them.

The scanner's request (``POST /api/v1/rounds/{id}/samples``) reads its token, user, assignments,
round and resident in two queries; compiling them through the ORM costs more CPU than running
them. These helpers keep that SQL honest: the column list comes from the model, and every value
goes through the backend's converters (SQLite dates and booleans) before ``Model.from_db``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Field, Model

__all__ = ["columns", "convert_rows", "instance"]


def columns(fields: Sequence[Field], alias: str, conn) -> str:
    """``alias."col", …`` for these fields, in order."""
    qn = conn.ops.quote_name
    return ", ".join(f"{alias}.{qn(f.column)}" for f in fields)


def convert_rows(conn, fields: Sequence[Field], rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Rows whose first ``len(fields)`` values are those fields' columns, converted as the ORM
    converts them (the rest of each row is left alone)."""
    converters = []
    for i, f in enumerate(fields):
        col = f.get_col(f.model._meta.db_table)
        fns = conn.ops.get_db_converters(col) + col.get_db_converters(conn)
        if fns:
            converters.append((i, col, fns))
    out = []
    for row in rows:
        row = list(row)
        for i, col, fns in converters:
            for fn in fns:
                row[i] = fn(row[i], col, conn)
        out.append(row)
    return out


def instance(model: type[Model], conn, fields: Sequence[Field], values: Sequence[Any]) -> Model:
    """A model instance from converted values of ``fields``, as a queryset would build it."""
    return model.from_db(conn.alias, [f.attname for f in fields], list(values))
