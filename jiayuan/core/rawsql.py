"""Model rows read with hand-written SQL on the hot paths, as the ORM would have read them.

The scanner's request (``POST /api/v1/rounds/{id}/samples``) reads its token, user, assignments,
round and resident in two queries; compiling them through the ORM costs more CPU than running
them. These helpers keep that SQL honest: the column list comes from the model, and every value
goes through the backend's converters (SQLite dates and booleans) before ``Model.from_db``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db.models import Field, Model

__all__ = ["columns", "convert_rows", "hot_cursor", "instance"]


@contextmanager
def hot_cursor(conn) -> Iterator[Any]:
    """A cursor for a hot path's hand-written statements that PostgreSQL plans once per connection.

    On PostgreSQL this is a server-side-binding psycopg cursor (the parameters travel apart from
    the statement, ``$1, $2 …``), so psycopg prepares a statement once it has run a few times on a
    connection (``prepare_threshold``, 5 by default) and PostgreSQL stops planning it again: for
    the scan's and the gate's statements, planning was three quarters of their database time
    (ADR 0023). Django's own cursor wrapper goes around it, so errors are Django's
    (``IntegrityError``, ``OperationalError``) and the statements are counted and logged like any
    other. Behind PgBouncer in transaction mode (``DATABASE_PGBOUNCER``) and on SQLite it is the
    ordinary cursor: PgBouncer 1.18 does not carry prepared statements between server connections.
    """
    if conn.vendor != "postgresql" or getattr(settings, "DATABASE_PGBOUNCER", False):
        with conn.cursor() as cur:
            yield cur
        return
    from django.db.backends.postgresql.base import ServerBindingCursor

    conn.close_if_health_check_failed()
    conn.ensure_connection()
    with conn.wrap_database_errors:
        raw = ServerBindingCursor(conn.connection)
        cur = conn.make_debug_cursor(raw) if conn.queries_logged else conn.make_cursor(raw)
    with cur:
        yield cur


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
