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
from typing import Any, NamedTuple

from django.conf import settings
from django.db.models import Field, Model
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

__all__ = ["columns", "convert_rows", "hot_cursor", "instance", "new", "prep_save", "session_prepared"]


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
    conn.close_if_health_check_failed()
    conn.ensure_connection()
    # One server-binding cursor per connection, used again by the next hot statement: a new
    # psycopg cursor builds its own adapters map, which cost a scan as much as binding its
    # parameters. A nested use (a hot statement inside another's block) gets a cursor of its own.
    kept = conn.__dict__.get("_jiayuan_hot_cursor")  # [psycopg connection, cursor, in use]
    with conn.wrap_database_errors:
        if kept is None or kept[0] is not conn.connection or kept[1].closed:
            kept = conn.__dict__["_jiayuan_hot_cursor"] = [conn.connection, _hot_cursor_class()(conn.connection), False]
        nested = kept[2]
        raw = _hot_cursor_class()(conn.connection) if nested else kept[1]
    kept[2] = True
    cur = _debug_wrapper()(raw, conn) if conn.queries_logged else conn.make_cursor(raw)
    try:
        yield cur
    finally:
        if nested:
            with contextlib.suppress(Exception):
                raw.close()
        else:
            kept[2] = False


@functools.cache
def _hot_cursor_class():
    """Django's server-binding cursor whose statements psycopg parses once per process.

    psycopg turns a statement's ``%s`` into ``$1 …`` by scanning its text, and keeps the result
    only for statements under 4,096 bytes and 50 parameters (an ORM's ``INSERT … VALUES`` of many
    rows would fill its cache); a longer one is scanned on every execution. The hot statements
    are a fixed handful, and the sample scan's is longer than that: scanning it cost the scan more
    CPU than sending it. Their parse is cached whatever their size (psycopg's own cached parse;
    when a psycopg release no longer has it, the cursor is Django's own, unchanged)."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    try:
        from psycopg._queries import PostgresQuery, _query2pg
    except ImportError:  # pragma: no cover - a psycopg without the private parse cache
        return ServerBindingCursor

    class HotQuery(PostgresQuery):
        def convert(self, query, vars):
            if vars is None or not isinstance(query, str):
                return super().convert(query, vars)
            self.query, self._want_formats, self._order, self._parts = _query2pg(
                query.encode(self._tx.encoding), self._tx.encoding
            )
            self.dump(vars)

    class HotCursor(ServerBindingCursor):
        _query_cls = HotQuery

    return HotCursor


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
    # Keyed by the fields' ids: a Field hashes in Python, twenty of them cost more than the lookup.
    key = (conn.alias, conn.vendor, *map(id, fields))
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
    for f, plain, v in zip(fields, _field_list(fields).plains, values, strict=True):
        if v is None or type(v) in plain:
            out.append(v)
        else:
            out.append(f.get_db_prep_save(v, conn))
    return out


class _FieldList(NamedTuple):
    attnames: tuple[str, ...]
    plains: tuple[tuple[type, ...], ...]  # ``_plain_types`` of each field


_FIELD_LISTS: dict[tuple, _FieldList] = {}


def _field_list(fields: Sequence[Field]) -> _FieldList:
    """What ``prep_save`` and ``instance`` ask of a field list, worked out once per list and keyed
    by the fields' ids (fields live as long as their models; a ``Field`` hashes in Python)."""
    key = tuple(map(id, fields))
    known = _FIELD_LISTS.get(key)
    if known is None:
        known = _FIELD_LISTS[key] = _FieldList(tuple(f.attname for f in fields), tuple(_plain_types(f) for f in fields))
    return known


def instance(model: type[Model], conn, fields: Sequence[Field], values: Sequence[Any]) -> Model:
    """A model instance from converted values of ``fields``, as a queryset would build it.

    What ``Model.from_db`` does, without ``Model.__init__`` going through each field's descriptor
    (a hot path builds four or five instances a request): the values straight into the instance's
    ``__dict__`` and its state marked as loaded. Only for a model that keeps Django's own
    ``__init__`` and ``from_db`` and has no ``pre_init``/``post_init`` receiver; any other takes
    ``from_db`` itself. Fields not given are deferred, as with ``from_db``."""
    attnames = _field_list(fields).attnames
    if _plain_init(model) and not (pre_init.has_listeners(model) or post_init.has_listeners(model)):
        obj = model.__new__(model)
        obj.__dict__.update(zip(attnames, values, strict=True))
        state = obj._state = ModelState()
        state.adding = False
        state.db = conn.alias
        return obj
    return model.from_db(conn.alias, list(attnames), list(values))


def new(model: type[Model], **values: Any) -> Model:
    """``model(**values)``, values by attribute name (``gate_id``, not ``gate``), for a hot path's
    new row: the same instance (every field's default, then the values given; not saved yet)
    without ``Model.__init__`` going through each field's descriptor, which cost the gate's scan
    more than binding the row's parameters. A model with its own ``__init__``, or a
    ``pre_init``/``post_init`` receiver, is built by ``model(**values)`` itself."""
    if not _plain_init(model) or pre_init.has_listeners(model) or post_init.has_listeners(model):
        return model(**values)
    static, computed, attnames = _defaults(model)
    unknown = values.keys() - attnames
    if unknown:
        raise TypeError(f"{model.__name__}() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
    obj = model.__new__(model)
    fields = obj.__dict__
    fields.update(static)
    for attname, field in computed:
        if attname not in values:
            fields[attname] = field.get_default()
    fields.update(values)
    obj._state = ModelState()
    return obj


@functools.cache
def _defaults(model: type[Model]) -> tuple[dict[str, Any], tuple[tuple[str, Field], ...], frozenset[str]]:
    """A model's concrete fields' defaults for ``new``: the constant ones as a dict, the fields
    whose default is computed on each use (a callable), and every attribute name."""
    static, computed = {}, []
    for f in model._meta.concrete_fields:
        if f.has_default() and callable(f.default):
            computed.append((f.attname, f))
        else:
            static[f.attname] = f.get_default()
    return static, tuple(computed), frozenset(f.attname for f in model._meta.concrete_fields)


@functools.cache
def _plain_init(model: type[Model]) -> bool:
    """Whether ``model`` builds its instances as Django's ``Model`` does (no own ``__init__`` or
    ``from_db``)."""
    return model.__init__ is Model.__init__ and model.from_db.__func__ is Model.from_db.__func__
