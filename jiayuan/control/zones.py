"""The three-zone engine (三区): sealed / controlled / precaution from days since the last positive.

For each unit (building, or compound when the neighbourhood's setting says so):

- sealed (封控区) while a positive case was detected in the last ``sealed_days`` days
  (``detected_on > today - sealed_days``),
- controlled (管控区) while the last positive is ``sealed_days`` to ``controlled_days`` days old,
- precaution (防范区) otherwise.

``zone_recompute`` is set-based: one aggregate query (max ``detected_on`` per building over the
cases of the last ``controlled_days`` days), one read of the stored non-precaution statuses, and
bulk writes proportional to the number of *changes*. A building or compound without a stored
status is a precaution zone that never changed. Overrides are applied at read time
(``selectors.zone_levels``); the recompute only ends expired ones so their end is recorded.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from jiayuan.control.choices import CaseStatus, ZoneLevel, ZoneUnit
from jiayuan.control.models import Case, ZoneChange, ZoneOverride, ZoneSettings, ZoneStatus
from jiayuan.core import extensions
from jiayuan.core.actors import acting_user
from jiayuan.core.audit import audit_record
from jiayuan.places.models import Building

__all__ = ["RecomputeResult", "Rules", "compute_level", "rules_for", "zone_recompute"]

DEFAULT_SEALED_DAYS = 7
DEFAULT_CONTROLLED_DAYS = 14
CHUNK = 5000


@dataclass(frozen=True)
class Rules:
    unit: str = ZoneUnit.BUILDING
    sealed_days: int = DEFAULT_SEALED_DAYS
    controlled_days: int = DEFAULT_CONTROLLED_DAYS


DEFAULT_RULES = Rules()


@dataclass(frozen=True)
class Computed:
    level: str
    since: dt.date | None
    next_change_on: dt.date | None
    last_positive_on: dt.date | None


@dataclass
class RecomputeResult:
    building_ids: set[int] = field(default_factory=set)
    compound_ids: set[int] = field(default_factory=set)
    expired_overrides: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.building_ids or self.compound_ids)


def rules_for(neighbourhood_ids) -> dict[int, Rules]:
    """The zone rules of these neighbourhoods (``None``: all that have settings)."""
    qs = ZoneSettings.objects.all()
    if neighbourhood_ids is not None:
        qs = qs.filter(neighbourhood_id__in=list(neighbourhood_ids))
    return {
        nb: Rules(unit, s, c)
        for nb, unit, s, c in qs.values_list("neighbourhood_id", "unit", "sealed_days", "controlled_days")
    }


def compute_level(last_positive_on: dt.date | None, today: dt.date, rules: Rules = DEFAULT_RULES) -> Computed:
    """The level on ``today`` given the last positive detection date."""
    if last_positive_on is None:
        return Computed(ZoneLevel.PRECAUTION, None, None, None)
    sealed_until = last_positive_on + dt.timedelta(days=rules.sealed_days)
    controlled_until = last_positive_on + dt.timedelta(days=rules.controlled_days)
    if today < sealed_until:
        return Computed(ZoneLevel.SEALED, last_positive_on, sealed_until, last_positive_on)
    if today < controlled_until:
        return Computed(ZoneLevel.CONTROLLED, sealed_until, controlled_until, last_positive_on)
    return Computed(ZoneLevel.PRECAUTION, controlled_until, None, last_positive_on)


def _chunks(ids: list[int]):
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


@transaction.atomic
def zone_recompute(*, actor, neighbourhood_ids=None, today: dt.date | None = None) -> RecomputeResult:
    """Recompute the stored levels of every building and compound of these neighbourhoods
    (``None``: all), write the changes and their history, end expired overrides, and publish
    ``control.zone_changed`` for what changed."""
    today = today or timezone.localdate()
    now = timezone.now()
    nb_filter = None if neighbourhood_ids is None else sorted(set(neighbourhood_ids))
    rules = rules_for(nb_filter)
    max_window = max([DEFAULT_CONTROLLED_DAYS, *(r.controlled_days for r in rules.values())])

    # 1. One aggregate: the last positive per building within the widest window.
    cases = Case.objects.filter(detected_on__gt=today - dt.timedelta(days=max_window), building__isnull=False).exclude(
        status=CaseStatus.VOIDED
    )
    if nb_filter is not None:
        cases = cases.filter(neighbourhood_id__in=nb_filter)
    last_by_building: dict[int, dt.date] = {}
    place_of: dict[int, tuple[int, int]] = {}  # building -> (neighbourhood, compound)
    last_by_compound: dict[int, dt.date] = {}
    nb_of_compound: dict[int, int] = {}
    for nb, compound, building, last in (
        cases.values_list("neighbourhood_id", "compound_id", "building_id").annotate(last=Max("detected_on")).order_by()
    ):
        last_by_building[building] = max(last, last_by_building.get(building, last))
        place_of[building] = (nb, compound)
        if last_by_compound.get(compound) is None or last > last_by_compound[compound]:
            last_by_compound[compound] = last
        nb_of_compound[compound] = nb

    computed_compound = {
        c: compute_level(last, today, rules.get(nb_of_compound[c], DEFAULT_RULES))
        for c, last in last_by_compound.items()
    }
    computed_building: dict[int, Computed] = {}
    compound_unit_compounds = [
        c
        for c, comp in computed_compound.items()
        if rules.get(nb_of_compound[c], DEFAULT_RULES).unit == ZoneUnit.COMPOUND and comp.level != ZoneLevel.PRECAUTION
    ]
    for b, last in last_by_building.items():
        nb, c = place_of[b]
        r = rules.get(nb, DEFAULT_RULES)
        if r.unit == ZoneUnit.BUILDING:
            computed_building[b] = compute_level(last, today, r)
    if compound_unit_compounds:
        for chunk in _chunks(compound_unit_compounds):
            for b, c, nb in Building.objects.filter(compound_id__in=chunk).values_list(
                "id", "compound_id", "neighbourhood_id"
            ):
                computed_building[b] = computed_compound[c]
                place_of[b] = (nb, c)

    # 2. The stored statuses that may change: every non-precaution row, and the rows of the units
    #    that now have a level. Plain tuples, not model instances: this runs over 10^5 rows.
    stored = ZoneStatus.objects.all()
    if nb_filter is not None:
        stored = stored.filter(neighbourhood_id__in=nb_filter)
    fields = (
        "id",
        "building_id",
        "compound_id",
        "neighbourhood_id",
        "level",
        "since",
        "next_change_on",
        "last_positive_on",
    )
    # One query: the non-precaution rows, plus the rows of every unit with a case in the window
    # (hashed sub-selects, no long id lists).
    window = cases.values("building_id")
    wanted = ~Q(level=ZoneLevel.PRECAUTION) | Q(building_id__in=window) | Q(compound_id__in=cases.values("compound_id"))
    compound_unit_nbs = [nb for nb, r in rules.items() if r.unit == ZoneUnit.COMPOUND]
    if compound_unit_nbs:
        wanted |= Q(
            building__compound_id__in=cases.filter(neighbourhood_id__in=compound_unit_nbs).values("compound_id")
        )
    rows: dict[tuple[str, int], _Row] = {}
    for values in stored.filter(wanted).values_list(*fields):
        row = _Row(*values)
        rows[row.key] = row

    # 3. Diff.
    result = RecomputeResult()
    diff = _Diff()
    for b, comp in computed_building.items():
        diff.apply("building", b, place_of[b][0], comp, rows.get(("building", b)), result)
    for c, comp in computed_compound.items():
        diff.apply("compound", c, nb_of_compound[c], comp, rows.get(("compound", c)), result)
    for key, row in rows.items():
        if key in diff.seen or row.level == ZoneLevel.PRECAUTION:
            continue
        # No positive in the window any more: step down to precaution.
        comp = compute_level(row.last_positive_on, today, rules.get(row.neighbourhood_id, DEFAULT_RULES))
        if comp.level != ZoneLevel.PRECAUTION:
            # The case it was sealed for was voided (or deleted, or moved): nothing counts any more.
            comp = Computed(ZoneLevel.PRECAUTION, today, None, None)
        diff.apply(key[0], key[1], row.neighbourhood_id, comp, row, result)
    user = acting_user(actor)
    _write(diff, now=now, today=today, user_id=user.pk if user else None)

    # 4. Expired overrides stop applying (read time already ignores them); record their end.
    expired = ZoneOverride.objects.filter(ended_at__isnull=True, expires_at__lte=now)
    if nb_filter is not None:
        expired = expired.filter(neighbourhood_id__in=nb_filter)
    expired_list = list(expired)
    for ov in expired_list:
        ZoneOverride.objects.filter(pk=ov.pk).update(ended_at=now)
        audit_record(actor=actor, action="zone.override_expire", obj=ov, changes={"level": ov.level})
        record_override_end(ov, actor=actor, cause="人工调整到期", today=today)
        if ov.building_id:
            result.building_ids.add(ov.building_id)
        else:
            result.compound_ids.add(ov.compound_id)
            result.building_ids.update(Building.objects.filter(compound_id=ov.compound_id).values_list("id", flat=True))
    result.expired_overrides = len(expired_list)

    # One audit event per neighbourhood when recomputing a few (after a case), one summary event
    # for the daily run over every neighbourhood.
    by_nb: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for kind, _unit_id, nb, _old, _new, _cause in diff.changes:
        by_nb[nb][0 if kind == "building" else 1] += 1
    if nb_filter is not None:
        for nb, (nbld, ncmp) in by_nb.items():
            audit_record(
                actor=actor,
                action="zone.recompute",
                object_type="places.neighbourhood",
                object_id=nb,
                object_repr=f"{today}",
                neighbourhood_id=nb,
                changes={"buildings_changed": nbld, "compounds_changed": ncmp},
            )
    elif by_nb:
        audit_record(
            actor=actor,
            action="zone.recompute",
            object_repr=f"{today}",
            changes={
                "neighbourhoods": len(by_nb),
                "buildings_changed": sum(v[0] for v in by_nb.values()),
                "compounds_changed": sum(v[1] for v in by_nb.values()),
            },
        )
    if result.changed:
        extensions.publish(
            "control.zone_changed",
            building_ids=sorted(result.building_ids),
            compound_ids=sorted(result.compound_ids),
            actor=actor,
        )
    return result


@dataclass
class _Row:
    id: int
    building_id: int | None
    compound_id: int | None
    neighbourhood_id: int
    level: str
    since: dt.date | None
    next_change_on: dt.date | None
    last_positive_on: dt.date | None

    @property
    def key(self) -> tuple[str, int]:
        return ("building", self.building_id) if self.building_id else ("compound", self.compound_id)


@dataclass
class _Diff:
    """What a recompute writes: new statuses, updated statuses and history rows (tuples)."""

    creates: list[tuple] = field(default_factory=list)  # (nb, building, compound, level, since, next, last)
    updates: list[tuple] = field(default_factory=list)  # (id, level, since, next, last)
    changes: list[tuple] = field(default_factory=list)  # (kind, unit id, nb, from, to, cause)
    seen: set = field(default_factory=set)

    def apply(self, kind: str, unit_id: int, nb: int, comp: Computed, row: _Row | None, result: RecomputeResult):
        self.seen.add((kind, unit_id))
        if row is None:
            if comp.level == ZoneLevel.PRECAUTION:
                return
            building, compound = (unit_id, None) if kind == "building" else (None, unit_id)
            self.creates.append(
                (nb, building, compound, comp.level, comp.since, comp.next_change_on, comp.last_positive_on)
            )
            old = ZoneLevel.PRECAUTION
        else:
            old = row.level
            if (
                old == comp.level
                and row.next_change_on == comp.next_change_on
                and row.last_positive_on == comp.last_positive_on
            ):
                return
            since = comp.since if old != comp.level else row.since
            self.updates.append((row.id, comp.level, since, comp.next_change_on, comp.last_positive_on))
        if old != comp.level:
            self.changes.append((kind, unit_id, nb, old, comp.level, _cause(comp)))
            (result.building_ids if kind == "building" else result.compound_ids).add(unit_id)


def _pg_array(values) -> str:
    """A PostgreSQL array literal: one string parameter instead of 10^5 adapted elements.

    Ids are formatted as they come; dates, levels and causes repeat (a few dozen distinct values
    over 10^5 rows), so each is formatted once."""
    memo: dict = {}
    out = []
    append = out.append
    for v in values:
        if type(v) is int:
            append(str(v))
            continue
        text = memo.get(v)
        if text is None:
            if v is None:
                text = "NULL"
            elif isinstance(v, int | dt.date):
                text = str(v)
            else:
                text = '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
            memo[v] = text
        append(text)
    return "{" + ",".join(out) + "}"


def _write(diff: _Diff, *, now: dt.datetime, today: dt.date, user_id: int | None) -> None:
    """Write the diff: on PostgreSQL three statements over ``unnest`` arrays (10^5 rows in well
    under a second); elsewhere (the laptop's SQLite, small data) through the ORM in batches."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if diff.creates:
                cols = list(zip(*diff.creates, strict=True))
                cursor.execute(
                    "INSERT INTO control_zonestatus (neighbourhood_id, building_id, compound_id, level, since, "
                    "next_change_on, last_positive_on, computed_at) SELECT u.*, %s FROM unnest("
                    "%s::bigint[], %s::bigint[], %s::bigint[], %s::varchar[], %s::date[], %s::date[], %s::date[]) AS u",
                    [now, *map(_pg_array, cols)],
                )
            if diff.updates:
                cols = list(zip(*diff.updates, strict=True))
                cursor.execute(
                    "UPDATE control_zonestatus z SET level = u.level, since = u.since, next_change_on = u.next, "
                    "last_positive_on = u.last, computed_at = %s FROM unnest(%s::bigint[], %s::varchar[], %s::date[], "
                    "%s::date[], %s::date[]) AS u(id, level, since, next, last) WHERE z.id = u.id",
                    [now, *map(_pg_array, cols)],
                )
            if diff.changes:
                kinds, units, nbs, olds, news, causes = zip(*diff.changes, strict=True)
                buildings = [u if k == "building" else None for k, u in zip(kinds, units, strict=True)]
                compounds = [u if k == "compound" else None for k, u in zip(kinds, units, strict=True)]
                cursor.execute(
                    "INSERT INTO control_zonechange (neighbourhood_id, building_id, compound_id, from_level, to_level, "
                    'cause, "on", actor_id, at) SELECT u.*, %s::date, %s::bigint, %s FROM unnest(%s::bigint[], '
                    "%s::bigint[], %s::bigint[], %s::varchar[], %s::varchar[], %s::varchar[]) AS u",
                    [today, user_id, now, *map(_pg_array, (nbs, buildings, compounds, olds, news, causes))],
                )
        return
    ZoneStatus.objects.bulk_create(
        [
            ZoneStatus(
                neighbourhood_id=nb,
                building_id=b,
                compound_id=c,
                level=level,
                since=since,
                next_change_on=nxt,
                last_positive_on=last,
                computed_at=now,
            )
            for nb, b, c, level, since, nxt, last in diff.creates
        ],
        batch_size=500,
    )
    for row_id, level, since, nxt, last in diff.updates:
        ZoneStatus.objects.filter(pk=row_id).update(
            level=level, since=since, next_change_on=nxt, last_positive_on=last, computed_at=now
        )
    ZoneChange.objects.bulk_create(
        [
            ZoneChange(
                neighbourhood_id=nb,
                building_id=unit if kind == "building" else None,
                compound_id=unit if kind == "compound" else None,
                from_level=old,
                to_level=new,
                on=today,
                cause=cause,
                actor_id=user_id,
                at=now,
            )
            for kind, unit, nb, old, new, cause in diff.changes
        ],
        batch_size=500,
    )


def record_override_end(override: ZoneOverride, *, actor, cause: str, today: dt.date | None = None) -> None:
    """History: when an override ends (withdrawn or expired) the place returns to the level in
    force without it (the computed one, or a compound override still in force)."""
    from jiayuan.control.selectors import zone_level_of

    if override.building_id:
        after = zone_level_of(building=override.building)
    else:
        after = zone_level_of(compound=override.compound)
    if after == override.level:
        return
    user = acting_user(actor)
    ZoneChange.objects.create(
        neighbourhood_id=override.neighbourhood_id,
        building_id=override.building_id,
        compound_id=override.compound_id,
        from_level=override.level,
        to_level=after,
        on=today or timezone.localdate(),
        cause=f"{cause}: {override.reason}"[:200],
        actor=user,
    )


def _cause(comp: Computed) -> str:
    return _cause_text(comp.last_positive_on)


@functools.lru_cache(maxsize=512)
def _cause_text(last_positive_on: dt.date | None) -> str:
    if last_positive_on is None:
        return "无阳性病例"
    return f"最近阳性检出于 {last_positive_on.isoformat()}"
