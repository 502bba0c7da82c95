"""Reads of the gates app, always through the acting user's scope (household pages through their link)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from jiayuan.accounts.services import api_token_hash, api_token_statement, api_token_user
from jiayuan.control.selectors import (
    households_may_go_out,
    zone_and_go_out_answer,
    zone_and_go_out_params,
    zone_and_go_out_sql,
    zone_and_go_out_values,
)
from jiayuan.core import rawsql
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import get_scoped_or_404, require_row, restrict, scope_sql
from jiayuan.gates.choices import PARCEL_WAITING, Direction, GateState, ParcelStatus, Reason, Subject
from jiayuan.gates.models import Gate, GatePassage, GateSettings, GateStateChange, Parcel, Pass
from jiayuan.gates.services import Who, settings_for
from jiayuan.people.models import Resident
from jiayuan.places.models import Building, Household, Neighbourhood
from jiayuan.screening.codes import parse_sampling_code

__all__ = [
    "daily_totals",
    "delivery_list",
    "gate_get",
    "gate_history",
    "gate_list",
    "household_parcels",
    "household_visits",
    "live_counts",
    "parcel_get",
    "parcel_list",
    "pass_get",
    "pass_list",
    "passage_list",
]


def gate_list(*, user, action: str = Action.VIEW_GATES) -> QuerySet[Gate]:
    return restrict(Gate.objects.select_related("compound"), user, action).order_by("compound__name", "name")


def gate_get(*, user, gate_id: int, action: str = Action.VIEW_GATES) -> Gate:
    """The gate with its neighbourhood's settings in the same query (the scan reads them)."""
    return get_scoped_or_404(
        Gate.objects.select_related("compound", "neighbourhood__gate_settings"), user, action, pk=gate_id
    )


_SCAN_SQL: dict[str, tuple[list, list, str]] = {}

# What a scan reads of its gate and of the neighbourhood's settings (the rest is deferred): each
# column costs the hot path its decoding, and the timestamps are parsed in Python.
_SCAN_GATE_FIELDS = ("id", "neighbourhood", "compound", "name", "state", "restriction", "open_from", "open_to")
_SCAN_SETTINGS_FIELDS = ("id", "neighbourhood", "controlled_may_go_out", "pass_required", "presence_follows")


def _scan_fields() -> tuple[list, list]:
    return (
        [Gate._meta.get_field(n) for n in _SCAN_GATE_FIELDS],
        [GateSettings._meta.get_field(n) for n in _SCAN_SETTINGS_FIELDS],
    )


def _scan_settings(conn, s_fields: list, gate: Gate, values) -> GateSettings:
    """The gate's neighbourhood's settings from the scan's row, or the defaults when it has none."""
    if values[0] is None:
        return rawsql.new(GateSettings, neighbourhood_id=gate.neighbourhood_id)
    (converted,) = rawsql.convert_rows(conn, s_fields, [values])
    return rawsql.instance(GateSettings, conn, s_fields, converted[: len(s_fields)])


def gate_for_scan(*, user, gate_id: int, resident_code: str = ""):
    """The scan's reads in ONE query (the hot path): the gate through the guard's PASS_GATE scope,
    its neighbourhood's settings and, for a sampling code, the resident it names (only the columns
    the decision needs). ``(gate, who)``; ``who`` is None when the code is not a sampling code
    (a pass code, a visitor, a vehicle: the service reads those). Falls back to the ORM
    (``gate_get``) where the user's scope is not a plain column condition."""
    connection = connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not the thread-local proxy
    scope = scope_sql(Gate, user, Action.PASS_GATE, "g", connection)
    if scope is None:
        return gate_get(user=user, gate_id=gate_id, action=Action.PASS_GATE), None
    resident_id = parse_sampling_code(resident_code) if resident_code else None
    if connection.alias not in _SCAN_SQL:  # the statement's head, built once per database alias
        qn = connection.ops.quote_name
        g_fields, s_fields = _scan_fields()
        _SCAN_SQL[connection.alias] = (
            g_fields,
            s_fields,
            f"SELECT {rawsql.columns(g_fields, 'g', connection)}, {rawsql.columns(s_fields, 's', connection)}, "  # noqa: S608
            "r.id, r.name, r.household_id, h.building_id, b.name, h.room, r.presence "
            f"FROM {qn(Gate._meta.db_table)} g "
            f"LEFT JOIN {qn(GateSettings._meta.db_table)} s ON s.neighbourhood_id = g.neighbourhood_id "
            f"LEFT JOIN {qn(Resident._meta.db_table)} r ON r.id = %s AND r.neighbourhood_id = g.neighbourhood_id "
            f"LEFT JOIN {qn(Household._meta.db_table)} h ON h.id = r.household_id "
            f"LEFT JOIN {qn(Building._meta.db_table)} b ON b.id = h.building_id ",
        )
    g_fields, s_fields, head = _SCAN_SQL[connection.alias]
    sql = f"{head}WHERE g.id = %s AND {scope[0]}"
    with rawsql.hot_cursor(connection) as cur:
        cur.execute(sql, [resident_id or 0, gate_id, *scope[1]])
        row = cur.fetchone()
    if row is None:
        raise Http404
    n, m = len(g_fields), len(s_fields)
    (g_values,) = rawsql.convert_rows(connection, g_fields, [row[:n]])
    gate = rawsql.instance(Gate, connection, g_fields, g_values[:n])
    gate.scan_settings = _scan_settings(connection, s_fields, gate, row[n : n + m])
    r = row[n + m :]
    if resident_id is None:
        return gate, None
    if r[0] is None:
        return gate, Who()  # an unknown resident: the service refuses the code
    return gate, Who(r[0], r[1], r[2], r[3], r[4] or "", r[5] or "", r[6])


_TOKEN_SCAN_SQL: dict[tuple, tuple] = {}


def scan_for_token(*, key: str, gate_id: int, resident_code: str = "", zone: bool = False, now=None):
    """The scan's reads, its bearer token's included, in ONE statement (the gate's hot path):
    ``accounts``' token statement (the token, its user and the user's active assignments) with
    the gate, its neighbourhood's settings and street, the resident the sampling code names and,
    with ``zone`` (a resident going out), control's zone-and-go-out statement as a LATERAL
    subquery of the resident's household (``control.selectors.zone_and_go_out_sql``: control's
    rule, control's SQL). ``(user, gate, who)``; None when the token is not a live token of an
    active user (401). The gate goes through the user's PASS_GATE scope (``core.scoping.permits``
    on the row's scope columns, or ``restrict`` where those cannot tell): outside it, or no such
    gate, is a 404."""
    if not key or not key.startswith("jy_"):
        return None
    conn = connections[DEFAULT_DB_ALIAS]  # a decision: always the primary
    now = now or timezone.now()
    today = timezone.localdate(now)
    resident_id = parse_sampling_code(resident_code) if resident_code else None
    zone = zone and resident_id is not None and conn.vendor == "postgresql"  # SQLite has no LATERAL
    cached = _TOKEN_SCAN_SQL.get((conn.alias, zone))
    if cached is None:
        qn = conn.ops.quote_name
        g_fields, s_fields = _scan_fields()
        select = (
            f"{rawsql.columns(g_fields, 'g', conn)}, {rawsql.columns(s_fields, 's', conn)}, n.street_id, "
            "r.id, r.name, r.household_id, h.building_id, bb.name, h.room, r.presence"
        )
        joins = (
            f"LEFT JOIN {qn(Gate._meta.db_table)} g ON g.id = %s "
            f"LEFT JOIN {qn(GateSettings._meta.db_table)} s ON s.neighbourhood_id = g.neighbourhood_id "
            f"LEFT JOIN {qn(Neighbourhood._meta.db_table)} n ON n.id = g.neighbourhood_id "
            f"LEFT JOIN {qn(Resident._meta.db_table)} r ON r.id = %s AND r.neighbourhood_id = g.neighbourhood_id "
            f"LEFT JOIN {qn(Household._meta.db_table)} h ON h.id = r.household_id "
            f"LEFT JOIN {qn(Building._meta.db_table)} bb ON bb.id = h.building_id "
        )
        if zone:
            select += ", z.*"
            zone_sql = zone_and_go_out_sql(conn, household="h.id", building="h.building_id")
            joins += f"LEFT JOIN LATERAL ({zone_sql}) z ON TRUE "
        sql, n_token = api_token_statement(conn, select=select, joins=joins)
        cached = _TOKEN_SCAN_SQL[(conn.alias, zone)] = (g_fields, s_fields, sql, n_token)
    g_fields, s_fields, sql, n_token = cached
    params = [gate_id, resident_id or 0]
    if zone:
        params += zone_and_go_out_params(conn, now, today)
    with rawsql.hot_cursor(conn) as cur:
        cur.execute(sql, [*params, api_token_hash(key)])
        rows = cur.fetchall()
    user = api_token_user(conn, rows)
    if user is None:
        return None
    row = rows[0][n_token:]
    n, m = len(g_fields), len(s_fields)
    if row[0] is None:
        raise Http404
    (g_values,) = rawsql.convert_rows(conn, g_fields, [row[:n]])
    gate = rawsql.instance(Gate, conn, g_fields, g_values[:n])
    paths = {"compound_id": gate.compound_id, "neighbourhood_id": gate.neighbourhood_id}
    require_row(user, Action.PASS_GATE, Gate, gate.pk, {**paths, "neighbourhood__street_id": row[n + m]})
    gate.scan_settings = _scan_settings(conn, s_fields, gate, row[n : n + m])
    r = row[n + m + 1 :]
    if resident_id is None:
        return user, gate, None
    if r[0] is None:
        return user, gate, Who()  # an unknown resident: the service refuses the code
    who = Who(r[0], r[1], r[2], r[3], r[4] or "", r[5] or "", r[6])
    if zone and who.household_id is not None:
        who.zone = zone_and_go_out_answer(who.household_id, zone_and_go_out_values(conn, r[7:16]), today)
    return user, gate, who


def gate_history(*, gate: Gate) -> QuerySet[GateStateChange]:
    return GateStateChange.objects.filter(gate=gate).select_related("actor").order_by("-at", "-id")


def passage_list(
    *,
    user,
    gate_id: int | None = None,
    day: dt.date | None = None,
    allowed: bool | None = None,
    reason: str = "",
) -> QuerySet[GatePassage]:
    qs = restrict(
        GatePassage.objects.select_related("gate", "resident", "building", "household"), user, Action.VIEW_GATES
    )
    if gate_id:
        qs = qs.filter(gate_id=gate_id)
    if day:
        qs = qs.filter(day=day)
    if allowed is not None:
        qs = qs.filter(allowed=allowed)
    if reason:
        qs = qs.filter(reason=reason)
    return qs.order_by("-at", "-id")


def _figures() -> dict[str, Count]:
    """The day's figures of a gate, as conditional counts: people in and out (allowed), visitors
    and vehicles let in, refusals, fevers."""
    return {
        "passed_in": Count("id", filter=Q(allowed=True, direction=Direction.IN)),
        "passed_out": Count("id", filter=Q(allowed=True, direction=Direction.OUT)),
        "visitors": Count("id", filter=Q(allowed=True, subject=Subject.VISITOR, direction=Direction.IN)),
        "vehicles": Count("id", filter=Q(allowed=True, subject=Subject.VEHICLE, direction=Direction.IN)),
        "refused": Count("id", filter=Q(allowed=False)),
        "fevers": Count("id", filter=Q(reason=Reason.FEVER)),
    }


def live_counts(*, user, day: dt.date | None = None, gate_id: int | None = None) -> dict[str, int]:
    """Today's figures at the user's gates: in, out, visitors, vehicles, refused, fevers (one
    aggregate query) and parcels waiting (one more)."""
    day = day or timezone.localdate()
    qs = restrict(GatePassage.objects.filter(day=day), user, Action.VIEW_GATES)
    if gate_id:
        qs = qs.filter(gate_id=gate_id)
    figures = qs.aggregate(**_figures())
    figures["parcels_waiting"] = parcel_list(user=user, waiting=True).count()
    return figures


def daily_totals(*, neighbourhood_id: int, days: list[dt.date]) -> dict[tuple[int, dt.date], dict[str, int]]:
    """Per gate and day: in, out, visitors, vehicles, refused, fevers (aggregates, no names)."""
    rows = (
        GatePassage.objects.filter(neighbourhood_id=neighbourhood_id, day__in=days)
        .values("gate_id", "day")
        .annotate(**_figures())
        .order_by()
    )
    return {(r.pop("gate_id"), r.pop("day")): r for r in rows}


def gates_closed(*, neighbourhood_id: int) -> list[Gate]:
    return list(
        Gate.objects.filter(neighbourhood_id=neighbourhood_id)
        .exclude(state=GateState.OPEN)
        .select_related("compound")
        .order_by("compound__name", "name")
    )


# --- Passes ------------------------------------------------------------------------------------


def pass_list(*, user, household_id: int | None = None, current: bool = False) -> QuerySet[Pass]:
    qs = restrict(Pass.objects.select_related("household__building", "resident"), user, Action.VIEW_GATES)
    if household_id:
        qs = qs.filter(household_id=household_id)
    if current:
        qs = qs.filter(revoked_at__isnull=True, valid_to__gte=timezone.localdate())
    return qs.order_by("-created_at", "-id")


def pass_get(*, user, pass_id: int, action: str = Action.VIEW_GATES) -> Pass:
    return get_scoped_or_404(
        Pass.objects.select_related("household__building__compound", "resident"), user, action, pk=pass_id
    )


# --- Parcels -----------------------------------------------------------------------------------


def overdue_before(neighbourhood_id: int, now: dt.datetime | None = None) -> dt.datetime:
    """Parcels that arrived before this have waited too long (the neighbourhood's setting)."""
    now = now or timezone.now()
    return now - dt.timedelta(hours=settings_for(neighbourhood_id).parcel_overdue_hours)


def parcel_list(
    *, user, waiting: bool = False, status: str = "", building_id: int | None = None, action=Action.HANDLE_PARCELS
) -> QuerySet[Parcel]:
    qs = restrict(Parcel.objects.select_related("household", "building"), user, action)
    if waiting:
        qs = qs.filter(status__in=PARCEL_WAITING)
    if status:
        qs = qs.filter(status=status)
    if building_id:
        qs = qs.filter(building_id=building_id)
    return qs.order_by("arrived_at", "id")


def parcel_get(*, user, parcel_id: int) -> Parcel:
    return get_scoped_or_404(
        Parcel.objects.select_related("household__building"), user, Action.HANDLE_PARCELS, pk=parcel_id
    )


def mark_parcels(parcels: list[Parcel]) -> list[Parcel]:
    """Set ``overdue`` (waited longer than the setting) and ``door_only`` (control says the
    household may not come out) on each parcel; control's bulk decision, a constant number of
    queries however many households the list holds."""
    if not parcels:
        return parcels
    cutoff: dict[int, dt.datetime] = {}
    may_go_out = households_may_go_out({p.household_id for p in parcels})
    for p in parcels:
        if p.neighbourhood_id not in cutoff:
            cutoff[p.neighbourhood_id] = overdue_before(p.neighbourhood_id)
        p.overdue = p.status in PARCEL_WAITING and p.arrived_at < cutoff[p.neighbourhood_id]
        p.door_only = not may_go_out.get(p.household_id, (True, ""))[0]
    return parcels


def delivery_list(*, user) -> list[dict]:
    """Per building, the disinfected parcels to carry to the doors (volunteers' list), oldest
    first, each household once with its parcels; buildings with an overdue parcel first."""
    parcels = list(
        parcel_list(user=user, status=ParcelStatus.DISINFECTED)
        .select_related("building__compound")
        .order_by("building__compound__name", "building__sort_key", "household__unit", "household__room", "id")
    )
    mark_parcels(parcels)
    by_building: dict[int, dict] = {}
    for p in parcels:
        entry = by_building.setdefault(
            p.building_id, {"building": p.building, "households": defaultdict(list), "overdue": 0, "count": 0}
        )
        entry["households"][p.household].append(p)
        entry["count"] += 1
        entry["overdue"] += int(p.overdue)
    result = []
    for entry in by_building.values():
        entry["households"] = list(entry["households"].items())
        result.append(entry)
    result.sort(key=lambda e: (e["overdue"] == 0,))
    return result


# --- What a household sees through its link ----------------------------------------------------


def household_visits(*, household, days: int = 7) -> list[GatePassage]:
    """Visitors who came (or were turned away) for this household in the last days, masked."""
    since = timezone.localdate() - dt.timedelta(days=days)
    return list(
        GatePassage.objects.filter(household=household, subject=Subject.VISITOR, day__gte=since)
        .select_related("gate")
        .order_by("-at")[:20]
    )


def household_parcels(*, household) -> list[Parcel]:
    """The household's parcels still waiting, and those done in the last two days."""
    since = timezone.now() - dt.timedelta(days=2)
    return mark_parcels(
        list(
            Parcel.objects.filter(household=household)
            .filter(Q(status__in=PARCEL_WAITING) | Q(done_at__gte=since))
            .select_related("household")
            .order_by("-arrived_at")[:20]
        )
    )
