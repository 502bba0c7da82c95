"""Reads of the screening flow, always through the acting user's scope.

The expected set of a round is the present residents of its scope without an exemption; it is
never stored. The missed list and the statistics are each one set-based query: an anti-join
(``NOT EXISTS``) against ``Sample`` on its unique ``(round, resident, is_retest)`` index.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils import timezone

from jiayuan.accounts.models import Assignment
from jiayuan.control.choices import ZoneLevel
from jiayuan.control.selectors import zone_levels
from jiayuan.core import crypto, rawsql
from jiayuan.core.permissions import Action, Role
from jiayuan.core.scoping import get_scoped_or_404, restrict, scope_ids, scope_sql
from jiayuan.people.choices import Presence, Tag
from jiayuan.people.models import Resident, ResidentTag
from jiayuan.places.models import Building, Household, Neighbourhood
from jiayuan.screening.choices import DOOR_TO_DOOR_TAGS, AntigenResult, RetestStatus, TubeResult, TubeStatus
from jiayuan.screening.codes import sampling_code
from jiayuan.screening.models import AntigenReport, Exemption, PlanSlot, Retest, Round, Sample, Station, Tube

__all__ = [
    "antigen_completion",
    "antigen_positive_list",
    "antigen_retests_for",
    "building_leaders",
    "missed_list",
    "plan_get",
    "reminder_message",
    "reminders_for",
    "retest_list",
    "round_get",
    "round_list",
    "round_residents",
    "round_stats",
    "round_target",
    "sampling_code_for",
]


def sampling_code_for(*, user, resident: Resident) -> str | None:
    """The resident's sampling code for a user who may sample or plan rounds where the resident
    lives, else None. Checked in memory against the user's scope ids (no query per resident)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if not user.is_superuser:
        household = resident.household if resident.household_id else None
        place = {
            "neighbourhood": resident.neighbourhood_id,
            "building": household.building_id if household else None,
            "compound": household.building.compound_id if household else None,
        }
        allowed = False
        for action in (Action.SAMPLE, Action.MANAGE_ROUNDS):
            ids = scope_ids(user, action)
            if any(place.get(level) in ids.get(level, ()) for level in ("neighbourhood", "compound", "building")):
                allowed = True
                break
            if ids.get("street") and _street_of(user, resident.neighbourhood_id) in ids["street"]:
                allowed = True
                break
        if not allowed:
            return None
    return sampling_code(resident.pk)


def _street_of(user, neighbourhood_id: int) -> int | None:
    """The neighbourhood's street, looked up once per user and neighbourhood (a resident list
    asks for every row; cached on the user object like ``scope_ids``)."""
    from jiayuan.places.models import Neighbourhood

    cache = user.__dict__.setdefault("_jiayuan_screening_street_of", {})
    if neighbourhood_id not in cache:
        cache[neighbourhood_id] = (
            Neighbourhood.objects.filter(pk=neighbourhood_id).values_list("street_id", flat=True).first()
        )
    return cache[neighbourhood_id]


def round_list(*, user, action: str = Action.VIEW_SCREENING) -> QuerySet[Round]:
    return restrict(Round.objects.select_related("neighbourhood"), user, action).order_by("-date", "-id")


def round_target(
    *, user, neighbourhood_id: int | None, building_ids: list[int]
) -> tuple[Neighbourhood, list[Building]]:
    """Where a new round goes, as the API names it, through the user's ``MANAGE_ROUNDS`` scope:
    the chosen buildings (all in one neighbourhood), else the named neighbourhood, else the only
    one the user manages. ``ValidationError`` on the field at fault; ``PermissionDenied`` when the
    user manages no neighbourhood at all."""
    if building_ids:
        allowed = restrict(Building.objects.all(), user, Action.MANAGE_ROUNDS)
        buildings = list(allowed.filter(pk__in=building_ids))
        if len(buildings) != len(set(building_ids)):
            raise ValidationError({"building_ids": ["楼栋不存在或不在您的管理范围"]})
        nb_ids = {b.neighbourhood_id for b in buildings}
        if len(nb_ids) != 1:
            raise ValidationError({"building_ids": ["一轮筛查的楼栋须属于同一居民区"]})
        nb = Neighbourhood.objects.get(pk=nb_ids.pop())
        if neighbourhood_id and neighbourhood_id != nb.pk:
            raise ValidationError({"neighbourhood_id": ["楼栋不属于该居民区"]})
        return nb, buildings
    neighbourhoods = restrict(Neighbourhood.objects.all(), user, Action.MANAGE_ROUNDS)
    if neighbourhood_id:
        nb = neighbourhoods.filter(pk=neighbourhood_id).first()
        if nb is None:
            raise ValidationError({"neighbourhood_id": ["居民区不存在或不在您的管理范围"]})
        return nb, []
    found = list(neighbourhoods[:2])
    if not found:
        raise PermissionDenied("没有安排检测轮次的权限")
    if len(found) > 1:
        raise ValidationError({"neighbourhood_id": ["您管理多个居民区, 请指定 neighbourhood_id"]})
    return found[0], []


def round_get(*, user, round_id: int, action: str = Action.VIEW_SCREENING) -> Round:
    return get_scoped_or_404(Round.objects.select_related("neighbourhood"), user, action, pk=round_id)


def _scanned_sql(resident_id: int) -> tuple[str, list[int]]:
    """A scalar subquery: the resident's ``[name, neighbourhood, household, building]`` as JSON
    text (NULL when there is no such resident)."""
    qn = connection.ops.quote_name
    build = "json_build_array" if connection.vendor == "postgresql" else "json_array"
    cast = "::text" if connection.vendor == "postgresql" else ""
    return (
        f"SELECT {build}(r.name, r.neighbourhood_id, r.household_id, h.building_id){cast} "  # noqa: S608
        f"FROM {qn(Resident._meta.db_table)} r LEFT JOIN {qn(Household._meta.db_table)} h "
        "ON h.id = r.household_id WHERE r.id = %s",
        [resident_id],
    )


def round_for_scan(*, user, round_id: int, resident_id: int | None) -> tuple[Round, dict | None]:
    """The round (through the user's ``SAMPLE`` scope, else 404) and the scanned resident's few
    columns (``name``, ``nb``, ``hh``, ``b``; None when there is no such resident), in one query:
    the scan's hot path. The resident is not scoped here: the service checks the round's
    neighbourhood, which is what a sampler's scope covers.

    Where the user's scope is a plain condition on the round's own columns (a neighbourhood's
    samplers and staff: ``scope_sql``), the query is written by hand — compiling it through the
    ORM costs more CPU than running it; otherwise it goes through ``restrict``."""
    if not isinstance(round_id, int) or not 0 < round_id < 2**63:
        raise Http404
    scope = scope_sql(Round, user, Action.SAMPLE, "r0", connection)
    if scope is None:
        return _round_for_scan_orm(user=user, round_id=round_id, resident_id=resident_id)
    fields = list(Round._meta.concrete_fields)
    scanned_sql, params = _scanned_sql(resident_id) if resident_id is not None else ("NULL", [])
    sql = (
        f"SELECT {rawsql.columns(fields, 'r0', connection)}, ({scanned_sql}) "  # noqa: S608 - names from the models
        f"FROM {connection.ops.quote_name(Round._meta.db_table)} r0 WHERE r0.id = %s AND {scope[0]}"
    )
    with rawsql.hot_cursor(connection) as cur:
        cur.execute(sql, [*params, round_id, *scope[1]])
        rows = cur.fetchall()
    if not rows:
        raise Http404
    row = rawsql.convert_rows(connection, fields, rows)[0]
    round_ = rawsql.instance(Round, connection, fields, row[: len(fields)])
    return round_, _scanned(row[len(fields)])


_TOKEN_ROUND_SQL: dict[tuple, tuple] = {}


def round_for_token(*, key: str, round_id: int, resident_id: int | None):
    """``round_for_scan`` with the scanner's bearer token read in the same statement (the scan's
    hot path, as the gate's, ADR 0023): ``accounts``' token statement (token, user, active
    assignments) with the round, its neighbourhood's street and the scanned resident's columns.
    ``(user, round, scanned)``; None when the key names no live token of an active user (401);
    404 when there is no such round or it is outside the user's ``SAMPLE`` scope (decided on the
    row by ``core.scoping.permits``, by ``restrict`` where the row cannot tell)."""
    from django.db import DEFAULT_DB_ALIAS, connections

    from jiayuan.accounts.services import api_token_hash, api_token_statement, api_token_user
    from jiayuan.core.scoping import require_row

    if not isinstance(round_id, int) or not 0 < round_id < 2**63:
        raise Http404
    if not key or not key.startswith("jy_"):
        return None
    conn = connections[DEFAULT_DB_ALIAS]  # a decision: always the primary
    with_resident = resident_id is not None
    cached = _TOKEN_ROUND_SQL.get((conn.alias, with_resident))
    if cached is None:
        qn = conn.ops.quote_name
        fields = list(Round._meta.concrete_fields)
        scanned_sql = _scanned_sql(0)[0] if with_resident else "NULL"
        select = f"{rawsql.columns(fields, 'r0', conn)}, n.street_id, ({scanned_sql})"
        joins = (
            f"LEFT JOIN {qn(Round._meta.db_table)} r0 ON r0.id = %s "
            f"LEFT JOIN {qn(Neighbourhood._meta.db_table)} n ON n.id = r0.neighbourhood_id "
        )
        sql, n_token = api_token_statement(conn, select=select, joins=joins)
        cached = _TOKEN_ROUND_SQL[(conn.alias, with_resident)] = (fields, sql, n_token)
    fields, sql, n_token = cached
    # The parameters in the statement's order: the resident (in the SELECT list), the round (a
    # join), the key (the WHERE).
    params = [resident_id] if with_resident else []
    with rawsql.hot_cursor(conn) as cur:
        cur.execute(sql, [*params, round_id, api_token_hash(key)])
        rows = cur.fetchall()
    user = api_token_user(conn, rows)
    if user is None:
        return None
    row = rows[0][n_token:]
    n = len(fields)
    if row[0] is None:
        raise Http404
    (values,) = rawsql.convert_rows(conn, fields, [row[:n]])
    round_ = rawsql.instance(Round, conn, fields, values[:n])
    paths = {"neighbourhood_id": round_.neighbourhood_id, "neighbourhood__street_id": row[n]}
    require_row(user, Action.SAMPLE, Round, round_.pk, paths)
    return user, round_, _scanned(row[n + 1])


def _scanned(text: str | None) -> dict | None:
    if not text:
        return None
    name, nb, hh, building = json.loads(text)
    return {"name": name, "nb": nb, "hh": hh, "b": building}


def _round_for_scan_orm(*, user, round_id: int, resident_id: int | None) -> tuple[Round, dict | None]:
    qs = restrict(Round.objects.all(), user, Action.SAMPLE).order_by()
    if resident_id is not None:
        # A hand-written scalar subquery: the ORM's Subquery + JSONObject costs ~2 ms to compile,
        # more than the query takes to run.
        scanned_sql, params = _scanned_sql(resident_id)
        qs = qs.annotate(_scanned=RawSQL(scanned_sql, params, output_field=TextField()))  # noqa: S611
    try:
        round_ = qs.get(pk=round_id)
    except (Round.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
    return round_, _scanned(getattr(round_, "_scanned", None))


def round_residents(*, user, round_: Round, action: str = Action.VIEW_SCREENING) -> QuerySet[Resident]:
    """Residents in the round's scope that the user may see (every presence status)."""
    qs = restrict(Resident.objects.all(), user, action).filter(neighbourhood_id=round_.neighbourhood_id)
    if not round_.whole_neighbourhood:
        qs = qs.filter(household__building_id__in=round_.buildings.values("id"))
    return qs


def _sampled(round_: Round) -> Exists:
    # ``day``: the round's date, the samples' partition key on PostgreSQL (ADR 0015): one partition.
    return Exists(
        Sample.objects.filter(round_id=round_.pk, day=round_.date, resident_id=OuterRef("pk"), is_retest=False)
    )


def _exempted(round_: Round) -> Exists:
    return Exists(Exemption.objects.filter(round_id=round_.pk, resident_id=OuterRef("pk")))


def missed_list(*, user, round_: Round, building_id: int | None = None) -> QuerySet[Resident]:
    """Expected residents not sampled yet: present, not exempt, no sample in this round.

    One anti-join (``NOT EXISTS`` on the unique ``(round, resident, is_retest)`` index). One
    building's list is in room order; the whole round's is in household order, which an index
    walk can follow and stop after a page (a sort by building name would have to rank every
    missed resident of a million first).
    """
    qs = round_residents(user=user, round_=round_).filter(presence=Presence.PRESENT)
    order = ("household_id", "id")
    if building_id:
        qs = qs.filter(household__building_id=building_id)
        order = ("household__unit", "household__floor", "household__room", "household_id", "id")
    return (
        qs.filter(~_sampled(round_), ~_exempted(round_))
        .select_related("household__building")
        .prefetch_related("tag_rows")
        .order_by(*order)
    )


def building_leaders(*, building_ids) -> dict[int, list[str]]:
    """Display names of the building leaders assigned to each building (to chase the missed)."""
    out: dict[int, list[str]] = defaultdict(list)
    rows = Assignment.objects.filter(
        role=Role.BUILDING_LEADER, level="building", building_id__in=list(building_ids), active=True
    ).select_related("user")
    for a in rows:
        out[a.building_id].append(getattr(a.user, "display_name", "") or a.user.get_username())
    return dict(out)


def _resident_counts_by_building(*, user, round_: Round) -> list[dict]:
    """Per building: residents, present, present with a manual exemption, sampled, missed.

    One pass over the round's residents (as the user's scope narrows them) LEFT JOINed to the
    round's samples and exemptions, grouped by building: hash joins on PostgreSQL, whatever the
    size of the round. (The ORM would repeat an EXISTS subquery inside every conditional count.)
    """
    residents = round_residents(user=user, round_=round_).annotate(bid=F("household__building_id"))
    inner_sql, params = residents.values("id", "presence", "bid").order_by().query.sql_with_params()
    qn = connection.ops.quote_name
    sample_t, exempt_t = qn(Sample._meta.db_table), qn(Exemption._meta.db_table)
    present = Presence.PRESENT
    sql = (
        "SELECT r.bid, COUNT(*), "  # noqa: S608 - table names from the models, values as parameters
        "SUM(CASE WHEN r.presence = %s THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN r.presence = %s AND e.resident_id IS NOT NULL THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN s.resident_id IS NOT NULL THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN r.presence = %s AND e.resident_id IS NULL AND s.resident_id IS NULL THEN 1 ELSE 0 END) "
        f"FROM ({inner_sql}) r "
        f"LEFT JOIN {sample_t} s ON s.round_id = %s AND s.resident_id = r.id AND s.is_retest = %s "
        f"LEFT JOIN {exempt_t} e ON e.round_id = %s AND e.resident_id = r.id "
        "GROUP BY r.bid"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [present, present, present, *params, round_.pk, False, round_.pk])
        rows = cur.fetchall()
    return [
        {"building_id": b, "total": t, "present": p, "manual": m, "sampled": sm, "missed": mi}
        for b, t, p, m, sm, mi in rows
    ]


def round_stats(*, user, round_: Round) -> dict:
    """Expected, sampled, exempt, missed per building and in total, plus tubes, positive tubes,
    retests and tests used (tubes + individual retest tubes). Two grouped queries over residents
    and samples, whatever the size of the round."""
    by_building_rows = _resident_counts_by_building(user=user, round_=round_)
    by_building: dict[int | None, dict] = {}
    for row in by_building_rows:
        expected = row["present"] - row["manual"]
        by_building[row["building_id"]] = {
            "residents": row["total"],
            "expected": expected,
            "exempt": row["total"] - expected,
            "sampled": row["sampled"],
            "missed": row["missed"],
            "retests": 0,
        }
    retests = restrict(Retest.objects.filter(round=round_), user, Action.VIEW_SCREENING)
    for b_id, n in retests.values_list("building_id").annotate(n=Count("id")).order_by():
        by_building.setdefault(
            b_id, {"residents": 0, "expected": 0, "exempt": 0, "sampled": 0, "missed": 0, "retests": 0}
        )["retests"] = n
    buildings = {
        b.pk: b for b in Building.objects.filter(pk__in=[k for k in by_building if k]).select_related("compound")
    }
    leaders = building_leaders(building_ids=list(buildings))
    per_building = []
    for b_id, row in by_building.items():
        b = buildings.get(b_id)
        row["building"] = b
        row["building_id"] = b_id
        row["name"] = f"{b.compound.name} {b.name}" if b else "未分户"
        row["leaders"] = leaders.get(b_id, [])
        row["percent"] = round(100 * min(row["sampled"], row["expected"]) / row["expected"]) if row["expected"] else 100
        per_building.append(row)
    per_building.sort(
        key=lambda r: (
            r["building"] is None,
            r["building"].compound_id if r["building"] else 0,
            r["building"].sort_key if r["building"] else 0,
            r["building_id"] or 0,
        )
    )
    total = {
        k: sum(r[k] for r in per_building) for k in ("residents", "expected", "exempt", "sampled", "missed", "retests")
    }
    total["percent"] = (
        round(100 * (total["expected"] - total["missed"]) / total["expected"]) if total["expected"] else 100
    )
    tubes = Tube.objects.filter(round=round_).aggregate(
        tubes=Count("id", filter=Q(is_retest=False)),
        open_tubes=Count("id", filter=Q(status=TubeStatus.OPEN)),
        positive_tubes=Count("id", filter=Q(result=TubeResult.POSITIVE, is_retest=False)),
        pending_tubes=Count("id", filter=Q(result=TubeResult.PENDING, status=TubeStatus.CLOSED)),
        retest_tubes=Count("id", filter=Q(is_retest=True)),
        positive_retests=Count("id", filter=Q(result=TubeResult.POSITIVE, is_retest=True)),
    )
    others = restrict(Sample.objects.filter(round=round_, resident__isnull=True), user, Action.VIEW_SCREENING).count()
    total.update(tubes)
    total["others"] = others
    total["tests_used"] = tubes["tubes"] + tubes["retest_tubes"]
    return {"total": total, "buildings": per_building}


def round_stats_cached(*, user, round_: Round, ttl: int = 5) -> dict:
    """``round_stats`` shared for a few seconds between viewers with the same scope: the progress
    page polls every 10 s, and a street's round over a million residents costs a second or two."""
    from django.core.cache import cache

    ids = scope_ids(user, Action.VIEW_SCREENING)
    scope = (
        "su" if user.is_superuser else ";".join(f"{k}:{','.join(map(str, sorted(v)))}" for k, v in sorted(ids.items()))
    )
    key = "screening.stats:" + str(round_.pk) + ":" + crypto.keyed_hash(scope)[:32]
    stats = cache.get(key)
    if stats is None:
        stats = round_stats(user=user, round_=round_)
        cache.set(key, stats, ttl)
    return stats


def retest_list(*, user, round_: Round) -> QuerySet[Retest]:
    """The round's retests; while the round is open, also the antigen-positive residents of its
    neighbourhood waiting for a PCR retest that no round has swabbed yet (any open round's retest
    tube takes them)."""
    rows = Q(round=round_)
    if round_.is_open:
        rows |= Q(round__isnull=True, neighbourhood_id=round_.neighbourhood_id, status=RetestStatus.PENDING)
    return (
        restrict(Retest.objects.filter(rows), user, Action.VIEW_SCREENING)
        # sample__resident: the list shows ``display_name`` (N+1 without it).
        .select_related(
            "resident__household__building",
            "sample__resident",
            "source_tube",
            "antigen_report",
            "retest_sample__tube",
            "building",
        )
        .order_by("building_id", "resident_id", "id")
    )


def plan_get(*, round_: Round) -> dict:
    """The stored plan, per station and per building, with each building leader's message."""
    slots = list(
        PlanSlot.objects.filter(round=round_)
        .select_related("station", "building__compound")
        .order_by("station__kind", "station_id", "first_slot", "id")
    )
    per_station: dict[int, dict] = {}
    for s in Station.objects.filter(round=round_).order_by("kind", "id"):
        per_station[s.pk] = {"station": s, "slots": [], "people": 0}
    for slot in slots:
        entry = per_station[slot.station_id]
        entry["slots"].append(slot)
        entry["people"] += slot.people
    per_building = sorted(
        slots, key=lambda s: (s.building.compound_id, s.building.sort_key, s.door_to_door, s.first_slot)
    )
    return {
        "stations": list(per_station.values()),
        "buildings": [{"slot": s, "message": plan_message(s)} for s in per_building],
        "finish": max((s.end for s in slots), default=None),
    }


def plan_message(slot: PlanSlot) -> str:
    """The ready-to-send line for a building leader's group chat."""
    window = f"{slot.start:%H:%M}–{slot.end:%H:%M}"
    if slot.door_to_door:
        if slot.note.startswith("封控"):
            return (
                f"{slot.building.name} {window} 全楼上门采样({slot.people}人), 请在家等候, 备好核酸码, 听到敲门再开门"
            )
        return f"{slot.building.name} {window} 上门为卧床/行动不便/独居老人采样({slot.people}人), 请提前告知家属"
    return f"{slot.building.name} {window} 到{slot.station.name}采样, 请带好核酸码"


def _day_word(day: dt.date, today: dt.date) -> str:
    if day == today:
        return "今天"
    if day == today + dt.timedelta(days=1):
        return "明天"
    return f"{day:%m月%d日}"


def reminder_message(
    *,
    round_: Round,
    building: Building,
    missed: int,
    sealed: bool = False,
    homebound: int = 0,
    station: str = "",
    now: dt.datetime | None = None,
) -> str:
    """The ready-to-send reminder for a building that still has people to test, fit for the
    building: a sealed building (``sealed``) waits at home for the door-to-door team, the
    homebound (``homebound`` of the missed: bedridden, disabled, elderly living alone) are told
    to wait at home, and once the round's window has passed the text gives no time."""
    now = timezone.localtime(now)
    today = now.date()
    kind = round_.get_kind_display()
    if not round_.is_open:
        if sealed:
            return (
                f"{building.name}(封控楼)有{missed}位居民漏做{round_.date:%m月%d日}的{kind}, "
                "请在家等候上门补采, 不要下楼; 有问题请联系楼组长或居委会。"
            )
        return f"{building.name}有{missed}位居民漏做{round_.date:%m月%d日}的{kind}, 请联系楼组长或居委会安排补采。"
    deadline = dt.datetime.combine(round_.date, round_.end_time, tzinfo=now.tzinfo)
    in_window = now < deadline
    day = _day_word(round_.date, today)
    if sealed:
        text = f"{building.name}为封控楼, 还有{missed}位居民未做{kind}。请在家等候上门采样, 不要下楼"
        if in_window:
            text += f", 上门采样队{day} {round_.end_time:%H:%M} 前到"
        return text + "; 备好核酸码, 听到敲门再开门。"
    text = f"{building.name}还有{missed}位居民未做{kind}"
    if in_window:
        text += f", 请在{day} {round_.end_time:%H:%M} 前到{station or '采样点'}采样, 带好核酸码"
    else:
        text += ", 本轮采样时间已过, 请马上联系楼组长安排补采"
    if homebound:
        text += f"。卧床、行动不便或独居老人({homebound}人)请在家等候上门采样, 不用下楼。"
    else:
        text += "。行动不便请联系楼组长安排上门。"
    return text


def reminders_for(*, user, round_: Round, rows: list[dict], now: dt.datetime | None = None) -> None:
    """Fill ``row["reminder"]`` for each building row of ``round_stats`` (with ``building`` and
    ``missed``), in three queries whatever the number of buildings: the zone levels, the missed
    homebound per building, and the plan's station per building."""
    ids = [r["building"].pk for r in rows]
    if not ids:
        return
    levels = zone_levels(building_ids=ids)
    homebound_tag = Exists(ResidentTag.objects.filter(resident=OuterRef("pk"), tag__in=DOOR_TO_DOOR_TAGS))
    homebound = dict(
        missed_list(user=user, round_=round_)
        .filter(household__building_id__in=ids)
        .filter(homebound_tag)
        .order_by()
        .values_list("household__building_id")
        .annotate(n=Count("id"))
    )
    stations: dict[int, str] = {}
    for bid, name in (
        PlanSlot.objects.filter(round=round_, building_id__in=ids, door_to_door=False)
        .order_by("first_slot", "id")
        .values_list("building_id", "station__name")
    ):
        stations.setdefault(bid, name)
    for r in rows:
        b = r["building"]
        r["sealed"] = levels.get(b.pk) == ZoneLevel.SEALED
        r["homebound"] = homebound.get(b.pk, 0)
        r["reminder"] = reminder_message(
            round_=round_,
            building=b,
            missed=r["missed"],
            sealed=r["sealed"],
            homebound=r["homebound"],
            station=stations.get(b.pk, ""),
            now=now,
        )


# --- Antigen ---------------------------------------------------------------------------------------


def antigen_completion(*, user, date: dt.date) -> dict:
    """Per building: present residents, reported today, positives, missing. Two grouped queries."""
    residents = restrict(Resident.objects.filter(presence=Presence.PRESENT), user, Action.VIEW_SCREENING)
    reported = AntigenReport.objects.filter(resident_id=OuterRef("pk"), date=date)
    rows = (
        residents.annotate(rep=Exists(reported), pos=Exists(reported.filter(result=AntigenResult.POSITIVE)))
        .values("household__building_id")
        .annotate(
            present=Count("id"),
            reported=Count("id", filter=Q(rep=True)),
            positive=Count("id", filter=Q(pos=True)),
        )
        .order_by()
    )
    buildings = {
        b.pk: b
        for b in Building.objects.filter(
            pk__in=[r["household__building_id"] for r in rows if r["household__building_id"]]
        ).select_related("compound")
    }
    out = []
    for row in rows:
        b = buildings.get(row["household__building_id"])
        out.append(
            {
                "building": b,
                "name": f"{b.compound.name} {b.name}" if b else "未分户",
                "present": row["present"],
                "reported": row["reported"],
                "positive": row["positive"],
                "missing": row["present"] - row["reported"],
                "percent": round(100 * row["reported"] / row["present"]) if row["present"] else 100,
            }
        )
    out.sort(
        key=lambda r: (
            r["building"] is None,
            r["building"].compound_id if r["building"] else 0,
            r["building"].sort_key if r["building"] else 0,
        )
    )
    total = {k: sum(r[k] for r in out) for k in ("present", "reported", "positive", "missing")}
    total["percent"] = round(100 * total["reported"] / total["present"]) if total["present"] else 100
    return {"buildings": out, "total": total}


def antigen_residents(*, user, date: dt.date, building_id: int | None, no_phone_only: bool = False):
    """Present residents the user may report for, with today's report (for the leader's page)."""
    qs = restrict(
        Resident.objects.filter(presence=Presence.PRESENT).select_related("household__building"),
        user,
        Action.REPORT_ANTIGEN,
    )
    if building_id:
        qs = qs.filter(household__building_id=building_id)
    if no_phone_only:
        qs = qs.filter(tag_rows__tag=Tag.NO_SMARTPHONE)
    return qs.order_by("household__building__sort_key", "household_id", "id")


def antigen_reports_for(*, resident_ids, date: dt.date) -> dict[int, AntigenReport]:
    return {r.resident_id: r for r in AntigenReport.objects.filter(resident_id__in=list(resident_ids), date=date)}


def antigen_positive_list(*, user, since: dt.date) -> QuerySet[AntigenReport]:
    return (
        restrict(
            AntigenReport.objects.filter(result=AntigenResult.POSITIVE, date__gte=since), user, Action.VIEW_SCREENING
        )
        .select_related("resident__household__building", "retest", "confirmed_by")
        .order_by("-date", "-updated_at")
    )


def antigen_retests_for(*, resident_ids, days: int = 14) -> dict[int, Retest]:
    """Each resident's latest retest for a positive antigen report of the last ``days`` days (the
    household link page shows its state: awaiting PCR, confirmed, or cleared)."""
    since = timezone.now() - dt.timedelta(days=days)
    out: dict[int, Retest] = {}
    for row in (
        Retest.objects.filter(resident_id__in=list(resident_ids), antigen_report__isnull=False, created_at__gte=since)
        .select_related("antigen_report")
        .order_by("resident_id", "-id")
    ):
        out.setdefault(row.resident_id, row)
    return out


def pcr_positive_list(*, user, since: dt.date) -> QuerySet[Tube]:
    """Positive tubes of recent rounds (pooled or individual) with a sample in the user's scope."""
    rounds = restrict(Round.objects.filter(date__gte=since), user, Action.VIEW_SCREENING)
    # Only tubes holding someone the user may see: a building leader learns of positive tubes in
    # their buildings, not of every positive tube of the neighbourhood's round.
    visible = restrict(Sample.objects.filter(tube=OuterRef("pk")), user, Action.VIEW_SCREENING)
    return (
        Tube.objects.filter(round__in=rounds, result=TubeResult.POSITIVE)
        .filter(Exists(visible))
        .select_related("round")
        .order_by("-result_at")
    )
