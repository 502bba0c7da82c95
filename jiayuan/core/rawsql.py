"""Model rows read with hand-written SQL on the hot paths, as the ORM would have read them.

The scanner's request (``POST /api/v1/rounds/{id}/samples``) reads its token, user, assignments,
round and resident in two queries; compiling them through the ORM costs more CPU than running
them. These helpers keep that SQL honest: the column list comes from the model, and every value
goes through the backend's converters (SQLite dates and booleans) before ``Model.from_db``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db.models import Field, Model

__all__ = ["columns", "convert_rows", "hot_cursor", "instance", "prep_save", "session_prepared"]


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
    # One server-binding cursor per connection, used again by the next hot statement: a new
    # psycopg cursor builds its own adapters map, which cost a scan as much as binding its
    # parameters. A nested use (a hot statement inside another's block) gets a cursor of its own.
    kept = conn.__dict__.get("_jiayuan_hot_cursor")
    reuse = kept is not None and kept[0] is conn.connection and not kept[1].closed and not kept[2]
    with conn.wrap_database_errors:
        raw = kept[1] if reuse else ServerBindingCursor(conn.connection)
    if reuse:
        kept[2] = True
    elif kept is None or kept[0] is not conn.connection or kept[1].closed:
        conn.__dict__["_jiayuan_hot_cursor"] = kept = [conn.connection, raw, True]
    else:
        kept = None  # nested: this cursor is closed after its block
    cur = _debug_wrapper()(raw, conn) if conn.queries_logged else conn.make_cursor(raw)
    try:
        yield cur
    finally:
        if kept is not None and kept[1] is raw:
            kept[2] = False
        else:
            with contextlib.suppress(Exception):
                raw.close()


def columns(fields: Sequence[Field], alias: str, conn) -> str:
    """``alias."col", …`` for these fields, in order."""
    qn = conn.ops.quote_name
    return ", ".join(f"{alias}.{qn(f.column)}" for f in fields)


def session_prepared(conn, name: str, types: Sequence[str], sql: str) -> str | None:
    """The name of ``sql`` PREPAREd on this PostgreSQL session (prepared now if it is not yet),
    for a hot path that must stay ONE multi-statement simple query — ``EXECUTE name(…)`` between
    other statements, which psycopg's own prepared statements (extended protocol, one statement)
    cannot carry: the group-buy order (ADR 0019, ADR 0023). ``sql`` is written with ``%s``
    placeholders; ``types`` are their PostgreSQL types, in order. None where nothing may be kept on
    a session (SQLite, PgBouncer's transaction mode): run ``sql`` itself. The name carries a hash
    of the text, so a changed statement is prepared anew; a new session (a reconnection: its
    backend's pid) prepares again."""
    if conn.vendor != "postgresql" or getattr(settings, "DATABASE_PGBOUNCER", False):
        return None
    from django.db import connections

    conn = connections[conn.alias]  # this thread's wrapper (``django.db.connection`` is a proxy)
    full = f"{name}_{hashlib.sha1(sql.encode(), usedforsecurity=False).hexdigest()[:12]}"
    conn.ensure_connection()
    pid = conn.connection.info.backend_pid
    done = conn.__dict__.setdefault("_jiayuan_session_prepared", {})
    if done.get(full) != pid:
        numbers = itertools.count(1)
        body = re.sub(r"%%|%s", lambda m: "%" if m.group() == "%%" else f"${next(numbers)}", sql)
        if next(numbers) - 1 != len(types):
            raise ValueError(f"{name}: the placeholders and {len(types)} types do not match")
        with conn.cursor() as cur:
            cur.execute(f"PREPARE {full} ({', '.join(types)}) AS {body}")
        done[full] = pid
    return full


def session_prepared_forget(conn) -> None:
    """Forget what ``session_prepared`` prepared on this connection (an EXECUTE found it gone)."""
    from django.db import connections

    connections[conn.alias].__dict__.pop("_jiayuan_session_prepared", None)


@functools.cache
def _debug_wrapper():
    """PostgreSQL's debug cursor wrapper, logging the statement as written: psycopg keeps no
    client-side text of a prepared statement, so Django's ``last_executed_query`` would log None
    (a test reading ``connection.queries`` would find no SQL)."""
    from django.db.backends.postgresql.base import CursorDebugWrapper

    class HotCursorDebugWrapper(CursorDebugWrapper):
        def debug_sql(self, sql=None, params=None, use_last_executed_query=False, many=False):
            return super().debug_sql(sql, params, use_last_executed_query=False, many=many)

    return HotCursorDebugWrapper


_CONVERTERS: dict[tuple, list] = {}


def _converters(conn, fields: Sequence[Field]) -> list:
    """``(index, column, converter functions)`` of the fields that have any, per connection alias
    and field list (computed once: on the hot paths, asking every field every time cost more than
    the query)."""
    key = (conn.alias, conn.vendor, tuple(fields))
    cached = _CONVERTERS.get(key)
    if cached is None:
        cached = []
        for i, f in enumerate(fields):
            col = f.get_col(f.model._meta.db_table)
            fns = conn.ops.get_db_converters(col) + col.get_db_converters(conn)
            if fns:
                cached.append((i, col, fns))
        _CONVERTERS[key] = cached
    return cached


def convert_rows(conn, fields: Sequence[Field], rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Rows whose first ``len(fields)`` values are those fields' columns, converted as the ORM
    converts them (the rest of each row is left alone)."""
    converters = _converters(conn, fields)
    out = []
    for row in rows:
        row = list(row)
        for i, col, fns in converters:
            for fn in fns:
                row[i] = fn(row[i], col, conn)
        out.append(row)
    return out


_PLAIN: dict[Field, tuple[type, ...]] = {}


def _plain_types(field: Field) -> tuple[type, ...]:
    """The Python types whose values ``field.get_db_prep_save`` hands to the database unchanged:
    ``int`` for Django's own integer fields and references to an integer key, ``str`` for its own
    text fields, ``bool`` for its boolean. Any subclass (an encrypted field, say) gets nothing:
    its values always take the field's own path."""
    from django.db import models

    cached = _PLAIN.get(field)
    if cached is not None:
        return cached
    ints = (
        models.AutoField,
        models.BigAutoField,
        models.SmallAutoField,
        models.IntegerField,
        models.BigIntegerField,
        models.SmallIntegerField,
        models.PositiveIntegerField,
        models.PositiveBigIntegerField,
        models.PositiveSmallIntegerField,
    )
    kind = type(field)
    if kind in (models.ForeignKey, models.OneToOneField):
        kind = type(field.target_field)
        if kind in (models.AutoField, models.BigAutoField, models.SmallAutoField):
            kind = models.IntegerField
        elif kind not in ints:
            kind = None
    if kind in ints:
        plain: tuple[type, ...] = (int,)
    elif kind in (models.CharField, models.TextField, models.SlugField):
        plain = (str,)
    elif kind is models.BooleanField:
        plain = (bool,)
    else:
        plain = ()
    _PLAIN[field] = plain
    return plain


def prep_save(conn, fields: Sequence[Field], values: Sequence[Any]) -> list[Any]:
    """``[f.get_db_prep_save(v, conn) …]`` for a hand-written INSERT, without the per-value calls
    where they change nothing: None, and a plain int, str or bool for Django's own integer, text
    and boolean fields, go as they are (exact types: a bool for an integer field, an enum member or
    a date take the field's path). Every other value goes through its field."""
    out = []
    for f, v in zip(fields, values, strict=True):
        if v is None or type(v) in (_PLAIN.get(f) or _plain_types(f)):
            out.append(v)
        else:
            out.append(f.get_db_prep_save(v, conn))
    return out


def instance(model: type[Model], conn, fields: Sequence[Field], values: Sequence[Any]) -> Model:
    """A model instance from converted values of ``fields``, as a queryset would build it."""
    return model.from_db(conn.alias, [f.attname for f in fields], list(values))
