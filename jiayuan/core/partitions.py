"""Day partitions of the append-only, high-volume tables on PostgreSQL (ADR 0015).

On PostgreSQL, samples, antigen reports, gate passages, audit events and idempotency records are
declaratively
partitioned by RANGE of one day (``<table>_pYYYYMMDD``, days in ``TIME_ZONE``), with a DEFAULT
partition (``<table>_default``) so that an insert never fails for want of its day's partition.
SQLite keeps plain tables and nothing here acts on it.

- The migrations turn the plain tables into partitioned ones (``convert``) and create the
  partitions of the days that hold data and of the coming days.
- The daily job (``jiayuan purge``, Celery beat's ``core.purge``) first creates the partitions
  of the coming ``JIAYUAN_PARTITION_DAYS_AHEAD`` days (``ensure_ahead``); rows that landed in the
  default partition meanwhile are moved into their day's new partition.
- Retention (``core.retention``) drops whole partitions past their period (``drop_before``)
  instead of deleting rows, and audits which partitions, which days and how many rows went.
  Dropping a partition is the one way audit events leave the database: their trigger refuses
  UPDATE and DELETE of rows, and ``DROP TABLE`` deletes no row.

A partitioned table's primary key and unique constraints must contain the partition key: the
primary key is ``(id, <key>)`` in the database while Django still sees ``id`` (drawn from one
sequence, so it stays unique), the unique constraints get the key appended (``Sample.day`` is the
round's date, so ``(round, resident, is_retest, day)`` means what ``(round, resident, is_retest)``
meant), and foreign keys can no longer point at these tables (Django's ``on_delete`` still runs;
``Retest``'s links are ``db_constraint=False``). The idempotency record's key is a ``day`` column
that only PostgreSQL has, filled by its DEFAULT (the local date of the insert).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

__all__ = [
    "SPECS",
    "PartitionSpec",
    "convert",
    "drop_before",
    "ensure_ahead",
    "ensure_days",
    "is_partitioned",
    "partitions",
]

DEFAULT_AHEAD = 7
# At conversion, days that hold data get their own partition back to this many days ago; older
# rows go to the default partition (where retention deletes them row by row).
CONVERT_WINDOW_DAYS = 60
_DAY_RE = re.compile(r"_p(\d{8})$")
_INDEX_COLUMNS = re.compile(r"USING \w+ \(([^)]*)\)")


@dataclass(frozen=True)
class PartitionSpec:
    """One partitioned table: ``column`` is a ``date`` or a ``timestamptz`` (``timestamp=True``,
    days cut at local midnight). ``hidden_day``: the ``day`` column exists only in PostgreSQL,
    filled by its DEFAULT. ``before_drop(cursor, partition)`` clears rows that point into a
    partition about to be dropped (the foreign keys the database no longer enforces)."""

    table: str
    column: str
    timestamp: bool = False
    hidden_day: bool = False
    before_drop: Callable | None = field(default=None, compare=False)

    @property
    def default(self) -> str:
        return f"{self.table}_default"

    def partition(self, day: dt.date) -> str:
        return f"{self.table}_p{day:%Y%m%d}"


def _retest_unlink_samples(cur, partition: str) -> None:
    # Retest.sample (CASCADE) and Retest.retest_sample (SET_NULL), as Django's on_delete would.
    cur.execute(f"DELETE FROM screening_retest WHERE sample_id IN (SELECT id FROM {_q(partition)})")  # noqa: S608
    cur.execute(
        "UPDATE screening_retest SET retest_sample_id = NULL "  # noqa: S608
        f"WHERE retest_sample_id IN (SELECT id FROM {_q(partition)})"
    )


def _retest_unlink_antigen(cur, partition: str) -> None:
    # Retest.antigen_report (CASCADE); the photos go with their rows.
    from django.core.files.storage import default_storage

    cur.execute(f"DELETE FROM screening_retest WHERE antigen_report_id IN (SELECT id FROM {_q(partition)})")  # noqa: S608
    cur.execute(f"SELECT photo FROM {_q(partition)} WHERE photo <> ''")  # noqa: S608
    for (name,) in cur.fetchall():
        transaction.on_commit(lambda name=name: default_storage.delete(name))


SPECS: dict[str, PartitionSpec] = {
    "core_auditevent": PartitionSpec("core_auditevent", "created_at", timestamp=True),
    "core_idempotencyrecord": PartitionSpec("core_idempotencyrecord", "day", hidden_day=True),
    "screening_sample": PartitionSpec("screening_sample", "day", before_drop=_retest_unlink_samples),
    "screening_antigenreport": PartitionSpec("screening_antigenreport", "date", before_drop=_retest_unlink_antigen),
    "gates_gatepassage": PartitionSpec("gates_gatepassage", "day"),
}


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _bound(spec: PartitionSpec, day: dt.date) -> str:
    if spec.timestamp:
        return dt.datetime.combine(day, dt.time(), tzinfo=_tz()).isoformat(sep=" ")
    return day.isoformat()


def _local_day_sql(spec: PartitionSpec, column: str | None = None) -> str:
    column = _q(column or spec.column)
    if spec.timestamp:
        return f"({column} AT TIME ZONE '{settings.TIME_ZONE}')::date"
    return column


def is_partitioned(table: str) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as c:
        c.execute("SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s))", [table])
        return c.fetchone()[0]


def partitions(spec: PartitionSpec) -> dict[dt.date, str]:
    """The day partitions of ``spec``'s table, ``{day: name}`` (not the default one)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [spec.table],
        )
        names = [r[0] for r in cur.fetchall()]
    found = {}
    for name in names:
        m = _DAY_RE.search(name)
        if m:
            found[dt.datetime.strptime(m.group(1), "%Y%m%d").date()] = name  # noqa: DTZ007 - a date
    return found


def _create(cur, spec: PartitionSpec, day: dt.date) -> None:
    cur.execute(
        f"CREATE TABLE IF NOT EXISTS {_q(spec.partition(day))} PARTITION OF {_q(spec.table)} "
        f"FOR VALUES FROM ('{_bound(spec, day)}') TO ('{_bound(spec, day + dt.timedelta(days=1))}')"
    )


def _drop(cur, table: str) -> None:
    """DROP TABLE; the foreign-key checks this transaction deferred run first (PostgreSQL will
    not drop a table with pending trigger events), then Django's deferred default comes back."""
    cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cur.execute(f"DROP TABLE {_q(table)}")
    cur.execute("SET CONSTRAINTS ALL DEFERRED")


def ensure_days(spec: PartitionSpec, days) -> list[str]:
    """Create the partitions of ``days`` that do not exist yet; the names created. Rows of those
    days already in the default partition are moved into them (the default partition is detached,
    the partitions created, its rows inserted again through the parent, the old one dropped), all
    in one transaction."""
    have = partitions(spec)
    missing = sorted({d for d in days if d not in have})
    if not missing:
        return []
    day_sql = _local_day_sql(spec)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"SELECT EXISTS (SELECT 1 FROM {_q(spec.default)} WHERE {day_sql} = ANY(%s))",  # noqa: S608
            [missing],
        )
        if not cur.fetchone()[0]:
            for day in missing:
                _create(cur, spec, day)
            return [spec.partition(d) for d in missing]
        old = f"{spec.default}_old"
        cur.execute(f"ALTER TABLE {_q(spec.table)} DETACH PARTITION {_q(spec.default)}")
        cur.execute(f"ALTER TABLE {_q(spec.default)} RENAME TO {_q(old)}")
        for day in missing:
            _create(cur, spec, day)
        cur.execute(f"CREATE TABLE {_q(spec.default)} PARTITION OF {_q(spec.table)} DEFAULT")
        cur.execute(f"INSERT INTO {_q(spec.table)} SELECT * FROM {_q(old)}")  # noqa: S608
        _drop(cur, old)
    return [spec.partition(d) for d in missing]


def ahead() -> int:
    return int(getattr(settings, "JIAYUAN_PARTITION_DAYS_AHEAD", DEFAULT_AHEAD))


def ensure_ahead(today: dt.date | None = None, days: int | None = None) -> dict[str, list[str]]:
    """The daily job: yesterday's, today's and the coming ``days`` days' partitions of every
    partitioned table (PostgreSQL; nothing elsewhere). ``{table: partitions created}``."""
    if connection.vendor != "postgresql":
        return {}
    today = today or timezone.localdate()
    span = [today + dt.timedelta(days=i) for i in range(-1, (ahead() if days is None else days) + 1)]
    return {t: ensure_days(spec, span) for t, spec in SPECS.items() if is_partitioned(t)}


@dataclass
class Dropped:
    partitions: list[str]
    first: dt.date | None
    last: dt.date | None
    rows: int


def drop_before(spec: PartitionSpec, cutoff: dt.date, *, dry_run: bool = False) -> Dropped:
    """Drop every day partition of ``spec`` whose days all lie before ``cutoff`` (a local date);
    rows that point into them from elsewhere are cleared first (``before_drop``). One
    transaction; the counts are what was (would be, when ``dry_run``) dropped."""
    old = sorted((d, n) for d, n in partitions(spec).items() if d < cutoff)
    if not old:
        return Dropped([], None, None, 0)
    rows = 0
    with transaction.atomic(), connection.cursor() as cur:
        for _day, name in old:
            cur.execute(f"SELECT count(*) FROM {_q(name)}")  # noqa: S608
            rows += cur.fetchone()[0]
            if dry_run:
                continue
            if spec.before_drop is not None:
                spec.before_drop(cur, name)
            _drop(cur, name)
    return Dropped([n for _d, n in old], old[0][0], old[-1][0], rows)


# --- Conversion (migrations) -----------------------------------------------------------------


def _constraints(cur, table: str, kind: str) -> list[tuple[str, str, list[str]]]:
    cur.execute(
        "SELECT c.conname, pg_get_constraintdef(c.oid), "
        "ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o) "
        "      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o) "
        "FROM pg_constraint c WHERE c.conrelid = to_regclass(%s) AND c.contype = %s ORDER BY c.conname",
        [table, kind],
    )
    return [(name, definition, list(cols)) for name, definition, cols in cur.fetchall()]


def _shape(cur, table: str):
    """The table's foreign keys, unique constraints and other indexes, to create them again."""
    cur.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(%s))",
        [table, table],
    )
    indexes = cur.fetchall()
    return _constraints(cur, table, "f"), _constraints(cur, table, "u"), indexes


def convert(schema_editor, spec: PartitionSpec, *, today: dt.date | None = None) -> None:
    """Turn ``spec``'s plain table into a table partitioned by day, keeping its rows, columns,
    defaults, checks, indexes and outgoing foreign keys; the primary key and unique constraints
    get the partition key appended; ``id`` is drawn from a sequence (PostgreSQL 15 has no identity
    column on a partitioned table). Tables that point at this one must have dropped their
    foreign keys first. PostgreSQL only (the caller checks the vendor)."""
    table, col = spec.table, spec.column
    today = today or timezone.localdate()
    cur = schema_editor.connection.cursor()
    if spec.hidden_day:
        # The local date of the insert, for rows that exist: the local date of their created_at.
        cur.execute(
            f"ALTER TABLE {_q(table)} ADD COLUMN day date NOT NULL "
            f"DEFAULT ((now() AT TIME ZONE '{settings.TIME_ZONE}')::date)"
        )
        cur.execute(f"UPDATE {_q(table)} SET day = (created_at AT TIME ZONE '{settings.TIME_ZONE}')::date")  # noqa: S608
    foreign, unique, indexes = _shape(cur, table)
    for name, definition in indexes:
        keyed = _INDEX_COLUMNS.search(definition)
        if definition.upper().startswith("CREATE UNIQUE") and col not in (keyed.group(1) if keyed else "").split(", "):
            raise NotImplementedError(f"{table}: the unique index {name} must hold the partition key {col}")
    cur.execute(f"SELECT DISTINCT {_local_day_sql(spec)} FROM {_q(table)}")  # noqa: S608
    held = {r[0] for r in cur.fetchall() if r[0] is not None}
    days = sorted({d for d in held if d >= today - dt.timedelta(days=CONVERT_WINDOW_DAYS)})
    days += [today + dt.timedelta(days=i) for i in range(-1, ahead() + 1)]
    old = f"{table}__plain"
    cur.execute(f"ALTER TABLE {_q(table)} RENAME TO {_q(old)}")
    cur.execute(
        f"CREATE TABLE {_q(table)} (LIKE {_q(old)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE) "
        f"PARTITION BY RANGE ({_q(col)})"
    )
    # An id drawn from the old table's sequence (after a reverse migration) would tie the new
    # partitions to a sequence dropped with the old table; the new one is set below.
    cur.execute(f"ALTER TABLE {_q(table)} ALTER COLUMN id DROP DEFAULT")
    cur.execute(f"CREATE TABLE {_q(spec.default)} PARTITION OF {_q(table)} DEFAULT")
    for day in sorted(set(days)):
        _create(cur, spec, day)
    cur.execute(f"INSERT INTO {_q(table)} SELECT * FROM {_q(old)}")  # noqa: S608
    cur.execute(f"DROP TABLE {_q(old)}")
    seq = f"{table}_id_seq"
    cur.execute(f"CREATE SEQUENCE {_q(seq)} AS bigint OWNED BY {_q(table)}.id")
    cur.execute(f"SELECT setval(%s, COALESCE((SELECT max(id) FROM {_q(table)}), 0) + 1, false)", [seq])  # noqa: S608
    cur.execute(f"ALTER TABLE {_q(table)} ALTER COLUMN id SET DEFAULT nextval('{seq}')")
    cur.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(table + '_pkey')} PRIMARY KEY (id, {_q(col)})")
    for name, _definition, cols in unique:
        cols = [*cols, col] if col not in cols else cols
        cur.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} UNIQUE ({', '.join(_q(c) for c in cols)})")
    for _name, definition in indexes:
        cur.execute(definition)
    for name, definition, _cols in foreign:
        cur.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}")


def revert(schema_editor, spec: PartitionSpec) -> None:
    """Back to a plain table (the migration's reverse): rows kept, primary key ``id`` again,
    unique constraints without the partition key, the hidden ``day`` column gone."""
    table, col = spec.table, spec.column
    cur = schema_editor.connection.cursor()
    foreign, unique, indexes = _shape(cur, table)
    old = f"{table}__parted"
    cur.execute(f"ALTER TABLE {_q(table)} RENAME TO {_q(old)}")
    cur.execute(f"CREATE TABLE {_q(table)} (LIKE {_q(old)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)")
    cur.execute(f"INSERT INTO {_q(table)} SELECT * FROM {_q(old)}")  # noqa: S608
    cur.execute(f"ALTER SEQUENCE {_q(table + '_id_seq')} OWNED BY {_q(table)}.id")
    cur.execute(f"DROP TABLE {_q(old)} CASCADE")
    cur.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(table + '_pkey')} PRIMARY KEY (id)")
    for name, _definition, cols in unique:
        if spec.hidden_day:
            cols = [c for c in cols if c != col]
        cur.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} UNIQUE ({', '.join(_q(c) for c in cols)})")
    for _name, definition in indexes:
        cur.execute(definition.replace(" ON ONLY ", " ON ", 1))
    for name, definition, _cols in foreign:
        cur.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}")
    if spec.hidden_day:
        cur.execute(f"ALTER TABLE {_q(table)} DROP COLUMN day")
