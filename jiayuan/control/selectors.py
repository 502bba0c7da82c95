"""Reads of the control app, always through the acting user's scope.

Contract (ADR 0006): ``zone_levels`` is how screening and supplies learn a building's zone level.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable

from django.db.models import (
    CharField,
    Count,
    F,
    PositiveSmallIntegerField,
    Q,
    QuerySet,
    Value,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiayuan.control.choices import (
    OPEN_CASE_STATUSES,
    CaseStatus,
    ContactKind,
    HouseholdMark,
    QuarantineKind,
    QuarantineReason,
    QuarantineStatus,
    Slot,
    ZoneLevel,
)
from jiayuan.control.models import (
    Case,
    Contact,
    HealthCheck,
    Quarantine,
    Returnee,
    ZoneChange,
    ZoneOverride,
    ZoneSettings,
    ZoneStatus,
)
from jiayuan.control.zones import DEFAULT_RULES, Rules, compute_level, rules_for
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import get_scoped_or_404, restrict
from jiayuan.places.models import Building, Compound, Household

_LEVEL_ORDER = {ZoneLevel.SEALED: 0, ZoneLevel.CONTROLLED: 1, ZoneLevel.PRECAUTION: 2}


def _active_overrides() -> QuerySet[ZoneOverride]:
    now = timezone.now()
    return ZoneOverride.objects.filter(ended_at__isnull=True, starts_at__lte=now, expires_at__gt=now)


def zone_levels(*, building_ids: Iterable[int]) -> dict[int, str]:
    """Effective zone level (a ``ZoneLevel`` value, override included) for each building id.

    Buildings with no recorded level are precaution zones. Two queries: the stored levels (the
    engine writes a building's compound level there when the unit is the compound), and the
    overrides in force on these buildings or their compounds (a building's own override wins).
    """
    ids = sorted({int(i) for i in building_ids})
    if not ids:
        return {}
    rows = Building.objects.filter(id__in=ids).values_list(
        "id",
        "compound_id",
        "neighbourhood_id",
        "zone_status__level",
        "zone_status__next_change_on",
        "zone_status__last_positive_on",
    )
    result: dict[int, str] = {}
    compound_of: dict[int, int] = {}
    fresh = _Freshness()
    for bid, cid, nb, level, next_change_on, last in rows:
        result[bid] = fresh.level(level, next_change_on, last, nb)
        compound_of[bid] = cid
    for missing in set(ids) - set(result):
        result[missing] = ZoneLevel.PRECAUTION.value
    overrides = (
        _active_overrides()
        .filter(Q(building_id__in=ids) | Q(compound_id__in=Building.objects.filter(id__in=ids).values("compound_id")))
        .order_by("created_at", "id")
        .values_list("building_id", "compound_id", "level")
    )
    by_building: dict[int, str] = {}
    by_compound: dict[int, str] = {}
    for bid, cid, level in overrides:
        if bid:
            by_building[bid] = level
        else:
            by_compound[cid] = level
    for bid in result:
        if bid in by_building:
            result[bid] = by_building[bid]
        elif compound_of.get(bid) in by_compound:
            result[bid] = by_compound[compound_of[bid]]
    return result


class _Freshness:
    """Reads stay right even when the daily recompute has not run yet: a stored level whose
    ``next_change_on`` has come is re-derived from its last positive (the recompute then only
    records the history and publishes the change)."""

    def __init__(self, today: dt.date | None = None):
        self.today = today or timezone.localdate()
        self._rules: dict[int, Rules] = {}

    def level(self, level, next_change_on, last_positive_on, neighbourhood_id) -> str:
        if not level:
            return ZoneLevel.PRECAUTION.value
        if next_change_on is None or next_change_on > self.today:
            return level
        if neighbourhood_id not in self._rules:
            self._rules[neighbourhood_id] = zone_rules(neighbourhood_id)
        return compute_level(last_positive_on, self.today, self._rules[neighbourhood_id]).level

    def status(self, status):
        """``(level, next_change_on, since)`` of a stored status, fresh today."""
        if status is None:
            return ZoneLevel.PRECAUTION.value, None, None
        level = self.level(status.level, status.next_change_on, status.last_positive_on, status.neighbourhood_id)
        if level == status.level:
            return level, status.next_change_on, status.since
        comp = compute_level(status.last_positive_on, self.today, self._rules[status.neighbourhood_id])
        return level, comp.next_change_on, comp.since


def zone_level_of(*, building: Building | None = None, compound: Compound | None = None) -> str:
    """Effective level of one building or compound."""
    if building is not None:
        return zone_levels(building_ids=[building.pk])[building.pk]
    override = _active_overrides().filter(compound=compound).order_by("-created_at", "-id").first()
    if override is not None:
        return override.level
    status = ZoneStatus.objects.filter(compound=compound).first()
    return _Freshness().status(status)[0]


def zone_computed_of(*, building: Building | None = None, compound: Compound | None = None) -> dict:
    """The engine's level of one building or compound (no override), fresh today even before the
    daily recompute: ``level``, ``since``, ``next_change_on``, ``last_positive_on``."""
    lookup = {"building": building} if building is not None else {"compound": compound}
    status = ZoneStatus.objects.filter(**lookup).first()
    level, next_change_on, since = _Freshness().status(status)
    return {
        "level": level,
        "level_label": ZoneLevel(level).label,
        "since": since,
        "next_change_on": next_change_on,
        "last_positive_on": status.last_positive_on if status else None,
    }


def zone_rules(neighbourhood_id: int) -> Rules:
    """The neighbourhood's zone rules (the engine's defaults when it has no settings)."""
    return rules_for([neighbourhood_id]).get(neighbourhood_id, DEFAULT_RULES)


def zone_list(*, user, neighbourhood_id: int | None = None, compound_id: int | None = None) -> dict:
    """Every building and compound the user may see (VIEW_ZONES) with its effective level,
    ``since``, ``next_change_on`` and the override in force, if any."""
    buildings = restrict(Building.objects.select_related("compound"), user, Action.VIEW_ZONES)
    if neighbourhood_id:
        buildings = buildings.filter(neighbourhood_id=neighbourhood_id)
    if compound_id:
        buildings = buildings.filter(compound_id=compound_id)
    buildings = list(buildings.order_by("compound__name", "sort_key", "number"))
    bids = [b.pk for b in buildings]
    cids = sorted({b.compound_id for b in buildings})
    statuses_b = {s.building_id: s for s in ZoneStatus.objects.filter(building_id__in=bids)}
    statuses_c = {s.compound_id: s for s in ZoneStatus.objects.filter(compound_id__in=cids)}
    ov_b: dict[int, ZoneOverride] = {}
    ov_c: dict[int, ZoneOverride] = {}
    for ov in _active_overrides().filter(Q(building_id__in=bids) | Q(compound_id__in=cids)).order_by("created_at"):
        (ov_b if ov.building_id else ov_c)[ov.building_id or ov.compound_id] = ov

    fresh = _Freshness()

    def row(obj, status, override, inherited=None):
        level, next_change_on, since = fresh.status(status)
        computed = level
        if override is not None:
            level = override.level
        elif inherited is not None:
            level = inherited.level
            override = inherited
        return {
            "obj": obj,
            "level": level,
            "level_label": ZoneLevel(level).label,
            "computed_level": computed,
            "since": since,
            "next_change_on": next_change_on if override is None else None,
            "days_to_change": (next_change_on - fresh.today).days if next_change_on and override is None else None,
            "last_positive_on": status.last_positive_on if status else None,
            "override": override,
        }

    compounds = {}
    for b in buildings:
        if b.compound_id not in compounds:
            compounds[b.compound_id] = row(b.compound, statuses_c.get(b.compound_id), ov_c.get(b.compound_id))
            compounds[b.compound_id]["buildings"] = []
        compounds[b.compound_id]["buildings"].append(
            row(b, statuses_b.get(b.pk), ov_b.get(b.pk), inherited=ov_c.get(b.compound_id))
        )
    counts = Counter(r["level"] for c in compounds.values() for r in c["buildings"])
    return {
        "compounds": list(compounds.values()),
        "counts": [(lvl, label, counts.get(lvl, 0)) for lvl, label in ZoneLevel.choices],
    }


def zone_history(*, user, building_id: int | None = None, compound_id: int | None = None) -> QuerySet[ZoneChange]:
    qs = restrict(ZoneChange.objects.select_related("building", "compound", "actor"), user, Action.VIEW_ZONES)
    if building_id:
        qs = qs.filter(building_id=building_id)
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    return qs.order_by("-at", "-id")


def zone_override_list(*, user) -> QuerySet[ZoneOverride]:
    return restrict(
        _active_overrides().select_related("building__compound", "compound", "created_by"), user, Action.VIEW_ZONES
    ).order_by("expires_at")


# --- Cases, quarantines, returnees -------------------------------------------------------------


def case_list(*, user, status: str = "", building_id: int | None = None, open_only: bool = False) -> QuerySet[Case]:
    qs = restrict(Case.objects.select_related("resident", "building__compound", "household"), user, Action.VIEW_CONTROL)
    if status:
        qs = qs.filter(status=status)
    if open_only:
        qs = qs.filter(status__in=OPEN_CASE_STATUSES)
    if building_id:
        qs = qs.filter(building_id=building_id)
    return qs.order_by("-detected_on", "-id")


def case_get(*, user, case_id: int, action: str = Action.VIEW_CONTROL) -> Case:
    return get_scoped_or_404(
        Case.objects.select_related("resident", "building__compound", "household"), user, action, pk=case_id
    )


def quarantine_list(
    *,
    user,
    status: str = "",
    kind: str = "",
    reason: str = "",
    building_id: int | None = None,
) -> QuerySet[Quarantine]:
    qs = restrict(
        Quarantine.objects.select_related("resident", "contact__resident", "building__compound", "household"),
        user,
        Action.VIEW_CONTROL,
    )
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if reason:
        qs = qs.filter(reason=reason)
    if building_id:
        qs = qs.filter(building_id=building_id)
    return qs.order_by("status", "planned_end", "id")


def quarantine_get(*, user, quarantine_id: int, action: str = Action.VIEW_CONTROL) -> Quarantine:
    return get_scoped_or_404(
        Quarantine.objects.select_related("resident", "contact__resident", "building__compound", "household"),
        user,
        action,
        pk=quarantine_id,
    )


def returnee_list(*, user, due_within: int | None = None) -> QuerySet[Returnee]:
    """Returnees; with ``due_within`` only those whose quarantine ends in the next N days."""
    qs = restrict(
        Returnee.objects.select_related("resident", "building__compound", "quarantine"), user, Action.VIEW_CONTROL
    )
    if due_within is not None:
        today = timezone.localdate()
        qs = qs.filter(
            quarantine__status=QuarantineStatus.ACTIVE,
            quarantine__planned_end__lte=today + dt.timedelta(days=due_within),
        ).order_by("quarantine__planned_end", "id")
    return qs


# --- Health checks -----------------------------------------------------------------------------


def checks_due(*, user, on: dt.date | None = None, missing_only: bool = False) -> list[dict]:
    """Active quarantines on ``on`` with that day's morning and afternoon checks (or None)."""
    on = on or timezone.localdate()
    quarantines = list(
        quarantine_list(user=user, status=QuarantineStatus.ACTIVE)
        .filter(start_on__lte=on)
        .order_by("building__compound__name", "building__sort_key", "household__room", "id")
    )
    checks = defaultdict(dict)
    for c in HealthCheck.objects.filter(quarantine__in=[q.pk for q in quarantines], on=on):
        checks[c.quarantine_id][c.slot] = c
    rows = []
    for q in quarantines:
        row = {
            "quarantine": q,
            "morning": checks[q.pk].get(Slot.MORNING),
            "afternoon": checks[q.pk].get(Slot.AFTERNOON),
        }
        row["missing"] = [s for s in (Slot.MORNING, Slot.AFTERNOON) if row[s] is None]
        if missing_only and not row["missing"]:
            continue
        rows.append(row)
    return rows


def health_alerts(*, user, since: dt.date | None = None) -> QuerySet[HealthCheck]:
    """Checks with a fever or symptom since ``since`` (default today), newest first."""
    since = since or timezone.localdate()
    return (
        restrict(
            HealthCheck.objects.select_related(
                "resident__household", "quarantine__resident", "quarantine__contact__resident", "building__compound"
            ),
            user,
            Action.VIEW_CONTROL,
        )
        .filter(alert=True, on__gte=since)
        .order_by("-on", "-at")
    )


def quarantines_due(*, user, on: dt.date | None = None) -> QuerySet[Quarantine]:
    """Active quarantines whose planned end has come (due for release today, or overdue)."""
    on = on or timezone.localdate()
    return quarantine_list(user=user, status=QuarantineStatus.ACTIVE).filter(planned_end__lte=on)


def health_check_list(*, user, quarantine_id: int | None = None) -> QuerySet[HealthCheck]:
    qs = restrict(HealthCheck.objects.select_related("resident"), user, Action.VIEW_CONTROL)
    if quarantine_id:
        qs = qs.filter(quarantine_id=quarantine_id)
    return qs.order_by("-on", "slot")


# --- The isolation map and the summary table ---------------------------------------------------

_MARK_ORDER = [
    HouseholdMark.POSITIVE,
    HouseholdMark.ANTIGEN,
    HouseholdMark.RETEST,
    HouseholdMark.CONTACT,
    HouseholdMark.QUARANTINE,
    HouseholdMark.MONITORING,
]


def household_marks(
    household_ids: Iterable[int] | None = None, today: dt.date | None = None, *, building_ids: Iterable[int] = ()
) -> dict[int, dict]:
    """``{household_id: {"mark": HouseholdMark, "names": [..], "building_id": …}}`` for households
    with someone positive, antigen-positive awaiting the PCR retest (抗原阳性待核酸复核, the whole
    household when the policy keeps it home), in a pooled-tube retest, a contact, in quarantine or
    under health monitoring: of ``household_ids``, or of every household in ``building_ids`` (a
    board of whole buildings: the query names the buildings, not their thousands of households)."""
    today = today or timezone.localdate()
    if household_ids is not None:
        where = {"household_id__in": list(household_ids)}
    else:
        where = {"household__building_id__in": list(building_ids)}
    marks: dict[int, dict] = {}

    def put(hid, bid, mark, name):
        entry = marks.setdefault(hid, {"mark": mark, "names": [], "people": {}, "building_id": bid})
        if _MARK_ORDER.index(mark) < _MARK_ORDER.index(entry["mark"]):
            entry["mark"] = mark
        if name and name not in entry["names"]:
            entry["names"].append(name)
        if name and (name not in entry["people"] or _MARK_ORDER.index(mark) < _MARK_ORDER.index(entry["people"][name])):
            entry["people"][name] = mark

    for hid, bid, name in Case.objects.filter(
        **where, status__in=(CaseStatus.AT_HOME, CaseStatus.HOSPITAL, CaseStatus.MAKESHIFT_HOSPITAL)
    ).values_list("household_id", "household__building_id", "resident__name"):
        put(hid, bid, HouseholdMark.POSITIVE, name)
    for q in (
        Quarantine.objects.filter(**where, status=QuarantineStatus.ACTIVE)
        .select_related("resident")
        .annotate(_building_id=F("household__building_id"))
    ):
        if q.reason == QuarantineReason.POSITIVE_POOL:
            mark = HouseholdMark.RETEST
        elif q.reason == QuarantineReason.ANTIGEN_POSITIVE:
            mark = HouseholdMark.ANTIGEN
        elif q.contact_id:
            mark = HouseholdMark.CONTACT
        elif q.kind_on(today) == QuarantineKind.HOME_MONITORING:
            mark = HouseholdMark.MONITORING
        else:
            mark = HouseholdMark.QUARANTINE
        put(q.household_id, q._building_id, mark, q.resident.name if q.resident_id else "")
    return marks


# Short per-person labels on the map when a household holds people of different marks
# (the positive resident and their family in quarantine as close contacts).
_MARK_SHORT = {
    HouseholdMark.POSITIVE: _("阳"),
    HouseholdMark.ANTIGEN: _("抗原阳"),
    HouseholdMark.RETEST: _("待复核"),
    HouseholdMark.CONTACT: _("密接"),
    HouseholdMark.QUARANTINE: _("隔离"),
    HouseholdMark.MONITORING: _("监测"),
}


def isolation_map(
    *, user, neighbourhood_id: int | None = None, compound_id: int | None = None, focus: bool = False
) -> dict:
    """Compounds ▸ buildings ▸ floors × rooms, each household cell with its mark; names only
    in buildings where the user may VIEW_CONTROL. With ``focus``, only the buildings that
    matter today: a marked household, a level other than precaution, or an override."""
    zones = zone_list(user=user, neighbourhood_id=neighbourhood_id, compound_id=compound_id)
    bids = [b["obj"].pk for c in zones["compounds"] for b in c["buildings"]]
    households = list(
        restrict(Household.objects.filter(building_id__in=bids), user, Action.VIEW_ZONES)
        .order_by("building_id", "-floor", "unit", "room")
        .values("id", "building_id", "unit", "room", "floor")
    )
    marks = household_marks(building_ids=bids)
    named = set(restrict(Building.objects.filter(id__in=bids), user, Action.VIEW_CONTROL).values_list("id", flat=True))
    by_building: dict[int, list[dict]] = defaultdict(list)
    for h in households:
        m = marks.get(h["id"])
        h["mark"] = m["mark"] if m else ""
        h["mark_label"] = HouseholdMark(m["mark"]).label if m else ""
        h["names"] = (
            [(n, _MARK_SHORT[pm] if pm != m["mark"] else "") for n, pm in m["people"].items()]
            if m and h["building_id"] in named
            else []
        )
        by_building[h["building_id"]].append(h)
    for c in zones["compounds"]:
        for b in c["buildings"]:
            floors: dict = defaultdict(list)
            for h in by_building.get(b["obj"].pk, []):
                floors[h["floor"]].append(h)
            # Every floor of the building gets a row (an empty floor is still drawn), so the grid
            # keeps the building's shape.
            for f in range(b["obj"].floors or 0, 0, -1):
                floors.setdefault(f, [])
            numbered = sorted((f for f in floors if f is not None), reverse=True)
            b["rows"] = [(f, floors[f]) for f in numbered]
            if None in floors:
                b["rows"].append((None, floors[None]))
            b["width"] = max([len(v) for v in floors.values()] or [0])
            b["marked"] = sum(1 for h in by_building.get(b["obj"].pk, []) if h["mark"])
            b["show_names"] = b["obj"].pk in named
            b["matters"] = bool(b["marked"] or b["level"] != ZoneLevel.PRECAUTION or b["override"])
    zones["all_buildings"] = sum(len(c["buildings"]) for c in zones["compounds"])
    if focus:
        for c in zones["compounds"]:
            c["buildings"] = [b for b in c["buildings"] if b["matters"]]
        zones["compounds"] = [c for c in zones["compounds"] if c["buildings"]]
    zones["focus"] = focus
    return zones


def summary(*, user, neighbourhood_id: int | None = None, by: str = "building") -> dict:
    """防疫汇总统计表: per building (or per neighbourhood) and in total — cases by status,
    contacts by kind, active quarantines by current kind, returnees, zone levels, today's checks
    done and missing. Aggregates only: street officers see this (VIEW_ZONES)."""
    today = timezone.localdate()
    key = "building_id" if by == "building" else "neighbourhood_id"

    def scoped(model):
        qs = restrict(model.objects.all(), user, Action.VIEW_ZONES)
        return qs.filter(neighbourhood_id=neighbourhood_id) if neighbourhood_id else qs

    rows: dict = defaultdict(lambda: defaultdict(int))
    cases = scoped(Case).exclude(status=CaseStatus.VOIDED)
    for k, status, n in cases.values_list(key, "status").annotate(n=Count("id")).order_by():
        rows[k][f"case_{status}"] += n
        rows[k]["cases"] += n
    for k, kind, n in (
        scoped(Contact)
        .filter(quarantines__status=QuarantineStatus.ACTIVE)
        .values_list(key, "kind")
        .annotate(n=Count("id", distinct=True))
        .order_by()
    ):
        rows[k][f"contact_{kind}"] += n
    active = list(
        scoped(Quarantine)
        .filter(status=QuarantineStatus.ACTIVE)
        .values_list("id", key, "kind", "followup_kind", "start_on", "days")
    )
    qkey = {}
    for qid, k, kind, fkind, start, days in active:
        current = fkind if fkind and today >= start + dt.timedelta(days=days) else kind
        rows[k][f"q_{current}"] += 1
        if start <= today:
            rows[k]["checks_expected"] += 2
        qkey[qid] = k
    done = (
        HealthCheck.objects.filter(
            on=today, quarantine__status=QuarantineStatus.ACTIVE, quarantine__start_on__lte=today
        )
        .filter(quarantine_id__in=list(qkey))
        .values_list("quarantine_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for qid, n in done:
        rows[qkey[qid]]["checks_done"] += n
    for k, n in (
        scoped(Returnee)
        .filter(Q(quarantine__status=QuarantineStatus.ACTIVE) | Q(arrival_on__gt=today - dt.timedelta(days=14)))
        .values_list(key)
        .annotate(n=Count("id"))
        .order_by()
    ):
        rows[k]["returnees"] += n

    buildings = restrict(Building.objects.select_related("compound", "neighbourhood"), user, Action.VIEW_ZONES)
    if neighbourhood_id:
        buildings = buildings.filter(neighbourhood_id=neighbourhood_id)
    buildings = list(buildings.order_by("neighbourhood_id", "compound__name", "sort_key", "number"))
    levels = zone_levels(building_ids=[b.pk for b in buildings])
    for b in buildings:
        rows[b.pk if by == "building" else b.neighbourhood_id][f"zone_{levels[b.pk]}"] += 1

    columns = _summary_columns()
    if by == "building":
        labelled = [(f"{b.compound.name} {b.name}", b, levels[b.pk], rows.get(b.pk, {})) for b in buildings]
        if rows.get(None):
            labelled.append((str(_("无楼栋(非本居民区人员等)")), None, None, rows[None]))
    else:
        seen = {}
        for b in buildings:
            seen.setdefault(b.neighbourhood_id, b.neighbourhood)
        labelled = [(nb.name, nb, None, rows.get(nb_id, {})) for nb_id, nb in seen.items()]
    out_rows = []
    total = defaultdict(int)
    for label, obj, level, data in labelled:
        values = []
        for code, _label in columns:
            v = (
                data.get(code, 0)
                if code != "checks_missing"
                else max(data.get("checks_expected", 0) - data.get("checks_done", 0), 0)
            )
            values.append(v)
            total[code] += v
        matters = any(v for (code, _l), v in zip(columns, values, strict=True) if code != "zone_precaution")
        out_rows.append({"label": label, "obj": obj, "level": level, "values": values, "matters": matters})
    return {
        "columns": columns,
        "groups": _summary_groups(columns),
        "rows": out_rows,
        "total": [total[c] for c, _ in columns],
        "total_pairs": [(_TILE_LABELS.get(c, label), total[c]) for c, label in columns],
        "on": today,
        "by": by,
    }


_GROUPS = [
    ("case", _("病例")),
    ("contact", _("密接(隔离中)")),
    ("q_", _("隔离中(按当前方式)")),
    ("returnees", _("返沪")),
    ("zone_", _("楼栋分区")),
    ("checks_", _("今日健康监测")),
]


# The total tiles stand alone (no group header above them): the longer label.
_TILE_LABELS = {
    f"contact_{ContactKind.CLOSE}": _("密接(隔离中)"),
    f"contact_{ContactKind.SECONDARY}": _("次密接(隔离中)"),
    "checks_done": _("今日已测"),
    "checks_missing": _("今日未测"),
}


def _summary_groups(columns) -> list[tuple[str, int]]:
    """Header groups over the columns: ``(label, span)`` in column order."""
    groups: list[list] = []
    for code, _label in columns:
        label = next(g_label for prefix, g_label in _GROUPS if code.startswith(prefix))
        if groups and groups[-1][0] == label:
            groups[-1][1] += 1
        else:
            groups.append([label, 1])
    return [(label, span) for label, span in groups]


def _summary_columns() -> list[tuple[str, str]]:
    return [
        ("cases", _("病例合计")),
        *((f"case_{s}", CaseStatus(s).label) for s in CaseStatus.values if s != CaseStatus.VOIDED),
        (f"contact_{ContactKind.CLOSE}", _("密接")),
        (f"contact_{ContactKind.SECONDARY}", _("次密接")),
        *((f"q_{k}", QuarantineKind(k).label) for k in QuarantineKind.values),
        ("returnees", _("返沪人员")),
        *((f"zone_{lvl}", label) for lvl, label in ZoneLevel.choices),
        ("checks_done", _("已测")),
        ("checks_missing", _("未测")),
    ]


def committee_hotline(neighbourhood_id: int) -> str:
    """The committee's phone number for residents told to stay home ("" when none is set)."""
    return (
        ZoneSettings.objects.filter(neighbourhood_id=neighbourhood_id).values_list("hotline", flat=True).first() or ""
    )


def residents_with_open_case(resident_ids: Iterable[int]) -> set[int]:
    """Which of these residents have an open case (screening skips them when a positive antigen
    report would put them on the retest list)."""
    ids = [int(i) for i in resident_ids]
    if not ids:
        return set()
    return set(
        Case.objects.filter(resident_id__in=ids, status__in=OPEN_CASE_STATUSES).values_list("resident_id", flat=True)
    )


def household_under_control(household) -> list[Quarantine]:
    """Active quarantines of a household's members (for the household-link panel)."""
    return list(
        Quarantine.objects.filter(
            household=household, status=QuarantineStatus.ACTIVE, start_on__lte=timezone.localdate()
        )
        .select_related("resident")
        .order_by("id")
    )


# Kinds of quarantine during which nobody of the household leaves the home (a centralised
# quarantine takes the person away; it does not keep the rest of the household in).
_STAY_HOME_KINDS = (QuarantineKind.HOME, QuarantineKind.HOME_MONITORING)


# Why a household may not go out (``household_go_out_decision``): the building is a sealed zone,
# a member is a positive case waiting at home, a member is under home quarantine or home health
# monitoring (temporary home control after a positive pooled tube or antigen report included).
GO_OUT_SEALED = "sealed"
GO_OUT_CASE_AT_HOME = "case_at_home"
GO_OUT_STAY_HOME = "stay_home"

_GO_OUT_MESSAGES = {
    GO_OUT_SEALED: _("本楼为封控区,足不出户,不能外出领取;请选择送货上门或由志愿者代领"),
    GO_OUT_CASE_AT_HOME: _("本户有居家待转运的阳性人员,不能外出领取;请选择送货上门或由志愿者代领"),
    GO_OUT_STAY_HOME: _("本户有居家隔离或居家健康监测人员,不能外出领取;请选择送货上门或由志愿者代领"),
}


def _kept_home(household_ids: Iterable[int], today: dt.date) -> dict[int, str]:
    """``{household_id: reason}`` for households a member keeps home (a case waiting at home wins
    over a quarantine). ONE query whatever the number of households: the open cases at home and
    the active quarantines that are or become a home kind, as one UNION; the stage of each
    quarantine is the model's own ``kind_on``."""
    ids = sorted({int(i) for i in household_ids if i is not None})
    if not ids:
        return {}
    quarantines = (
        Quarantine.objects.filter(household_id__in=ids, status=QuarantineStatus.ACTIVE, start_on__lte=today)
        .filter(Q(kind__in=_STAY_HOME_KINDS) | Q(followup_kind__in=_STAY_HOME_KINDS))
        .order_by()
        .values_list("household_id", "kind", "followup_kind", "start_on", "days")
    )
    cases = (
        Case.objects.filter(household_id__in=ids, status=CaseStatus.AT_HOME)
        .order_by()
        .values_list(
            "household_id",
            Value("", output_field=CharField()),
            Value("", output_field=CharField()),
            "detected_on",
            Value(0, output_field=PositiveSmallIntegerField()),
        )
    )
    result: dict[int, str] = {}
    for hid, kind, followup_kind, start_on, days in quarantines.union(cases, all=True):
        if not kind:  # a case row
            result[hid] = GO_OUT_CASE_AT_HOME
        elif result.get(hid) != GO_OUT_CASE_AT_HOME:
            stage = Quarantine(kind=kind, followup_kind=followup_kind, start_on=start_on, days=days).kind_on(today)
            if stage in _STAY_HOME_KINDS:
                result[hid] = GO_OUT_STAY_HOME
    return result


def household_go_out_decision(household, zone_level: str | None = None) -> str | None:
    """Why no one of ``household`` may go out — ``GO_OUT_SEALED``, ``GO_OUT_CASE_AT_HOME`` or
    ``GO_OUT_STAY_HOME`` — or None when they may. The one rule behind ``household_may_go_out``
    and ``households_may_go_out``.

    ``household`` needs ``pk`` and ``building_id`` only. ``zone_level``: the building's effective
    level when the caller has already read it (``zone_levels``; a gate tells sealed from
    controlled): then this is ONE query (cases and quarantines together), otherwise three.
    """
    if zone_level is None and household.building_id:
        zone_level = zone_levels(building_ids=[household.building_id]).get(household.building_id)
    if zone_level == ZoneLevel.SEALED:
        return GO_OUT_SEALED
    return _kept_home([household.pk], timezone.localdate()).get(household.pk)


def zone_and_go_out_sql(conn, *, household: str = "", building: str = "") -> str:
    """``household_zone_and_go_out``'s statement: ONE row of nine columns — the building's
    neighbourhood, stored level, next change, last positive, its own override in force, its
    compound's, a case at home, a home quarantine, a home quarantine with a follow-up stage — for
    ``zone_and_go_out_values`` and ``zone_and_go_out_answer``; its parameters from
    ``zone_and_go_out_params``.

    Written out (the same query built with the ORM's Subquery/Exists cost twice the CPU of the
    three queries it replaces; this is the gate's hot path). ``household`` and ``building``: SQL
    expressions of the caller's own statement when it embeds this one (the gate's scan reads it
    as a LATERAL subquery of its resident's row, ``h.id`` and ``h.building_id``); empty: they are
    parameters. Table names come from the models."""
    qn = conn.ops.quote_name
    o, c, q = (qn(m._meta.db_table) for m in (ZoneOverride, Case, Quarantine))
    kinds = ", ".join(["%s"] * len(_STAY_HOME_KINDS))
    hid = household or "%s"
    override = (
        f"(SELECT o.level FROM {o} o WHERE {{where}} AND o.ended_at IS NULL AND o.starts_at <= %s "  # noqa: S608
        "AND o.expires_at > %s ORDER BY o.created_at DESC, o.id DESC LIMIT 1)"
    )
    live = f"SELECT 1 FROM {q} q WHERE q.household_id = {hid} AND q.status = %s AND q.start_on <= %s"  # noqa: S608
    return (
        "SELECT b.neighbourhood_id, zs.level, zs.next_change_on, zs.last_positive_on, "  # noqa: S608
        f"{override.format(where='o.building_id = b.id')}, "
        f"{override.format(where='o.building_id IS NULL AND o.compound_id = b.compound_id')}, "
        f"EXISTS (SELECT 1 FROM {c} c WHERE c.household_id = {hid} AND c.status = %s), "
        f"EXISTS ({live} AND q.followup_kind = '' AND q.kind IN ({kinds})), "
        f"EXISTS ({live} AND q.followup_kind <> '' AND (q.kind IN ({kinds}) OR q.followup_kind IN ({kinds}))) "
        f"FROM {qn(Building._meta.db_table)} b "
        f"LEFT JOIN {qn(ZoneStatus._meta.db_table)} zs ON zs.building_id = b.id WHERE b.id = {building or '%s'}"
    )


def zone_and_go_out_params(conn, now: dt.datetime, today: dt.date, household=None) -> list:
    """``zone_and_go_out_sql``'s parameters, in order. ``household`` (with ``pk`` and
    ``building_id``) when the statement has them as parameters; None when it is embedded."""
    at = conn.ops.adapt_datetimefield_value(now)
    on = conn.ops.adapt_datefield_value(today)
    stay = list(_STAY_HOME_KINDS)
    h = [] if household is None else [household.pk]
    active = QuarantineStatus.ACTIVE.value
    params = [at, at, at, at, *h, CaseStatus.AT_HOME.value, *h, active, on, *stay, *h, active, on, *stay, *stay]
    return params if household is None else [*params, household.building_id]


def _zone_and_go_out_row(household, now: dt.datetime, today: dt.date):
    """The row of ``household_zone_and_go_out``, read on its own."""
    from django.db import connections, router

    from jiayuan.core import rawsql

    conn = connections[router.db_for_read(Building)]
    with rawsql.hot_cursor(conn) as cur:
        cur.execute(zone_and_go_out_sql(conn), zone_and_go_out_params(conn, now, today, household))
        row = cur.fetchone()
    return zone_and_go_out_values(conn, row)


def zone_and_go_out_values(conn, row):
    """``zone_and_go_out_sql``'s nine columns as Python values (dates through the fields'
    converters, booleans as booleans), or None for no row (no such building)."""
    from jiayuan.core import rawsql

    if row is None or row[0] is None:
        return None
    date_fields = [ZoneStatus._meta.get_field("next_change_on"), ZoneStatus._meta.get_field("last_positive_on")]
    (dates,) = rawsql.convert_rows(conn, date_fields, [row[2:4]])
    return (row[0], row[1], dates[0], dates[1], row[4], row[5], bool(row[6]), bool(row[7]), bool(row[8]))


def household_zone_and_go_out(household) -> tuple[str, str | None]:
    """``(zone level, household_go_out_decision's reason)`` in ONE query: for the hot paths that
    need the level too (a gate tells sealed from controlled), so the zone is read once.

    The same answers as ``zone_levels`` and ``household_go_out_decision`` (the tests compare them
    on both databases): the building's stored level made fresh (``_Freshness``), the override in
    force (the building's own, else its compound's; the latest wins) as subqueries of the
    building's row, the case at home and the home quarantines as EXISTS. A quarantine with a
    follow-up stage (rare) is settled by ``_kept_home``'s rows, one more query.
    """
    now = timezone.now()
    today = timezone.localdate(now)
    row = _zone_and_go_out_row(household, now, today) if household.building_id else None
    return zone_and_go_out_answer(household.pk, row, today)


def zone_and_go_out_answer(household_id: int, row, today: dt.date) -> tuple[str, str | None]:
    """``household_zone_and_go_out``'s answer from its row (``zone_and_go_out_values``; None: no
    building), read on its own or inside a caller's statement."""
    if row is None:
        return ZoneLevel.PRECAUTION.value, _kept_home([household_id], today).get(household_id)
    nb, stored, next_change_on, last_positive_on, own, of_compound, case_at_home, stays_home, staged = row
    level = own or of_compound or _Freshness(today).level(stored, next_change_on, last_positive_on, nb)
    if level == ZoneLevel.SEALED:
        return level, GO_OUT_SEALED
    if case_at_home:
        return level, GO_OUT_CASE_AT_HOME
    if stays_home:
        return level, GO_OUT_STAY_HOME
    return level, (_kept_home([household_id], today).get(household_id) if staged else None)


def go_out_message(reason: str | None) -> str:
    """The Chinese sentence for a ``household_go_out_decision`` reason ("" for None)."""
    return str(_GO_OUT_MESSAGES[reason]) if reason else ""


def household_may_go_out(household) -> tuple[bool, str]:
    """May someone of ``household`` go out to collect something (a group-buy pick-up, a
    scarce-item appointment, any "come and pick up")? ``(True, "")`` or ``(False, reason)``.

    The one place that decides it (``household_go_out_decision``): not when the building is a
    sealed zone (足不出户), nor while a member is a positive case waiting at home, nor while a
    member is under home quarantine or home health monitoring. The reason is a Chinese sentence
    for the resident or the staff.
    """
    reason = household_go_out_decision(household)
    return reason is None, go_out_message(reason)


def households_may_go_out(household_ids: Iterable[int]) -> dict[int, tuple[bool, str]]:
    """``household_may_go_out`` for many households at once (list pages): ``{id: (may, reason)}``
    for each existing household. Four queries whatever their number (the households' buildings,
    the zone levels, the cases and quarantines)."""
    ids = sorted({int(i) for i in household_ids if i is not None})
    if not ids:
        return {}
    building_of = dict(Household.objects.filter(id__in=ids).values_list("id", "building_id"))
    levels = zone_levels(building_ids={b for b in building_of.values() if b})
    kept = _kept_home(
        [hid for hid, bid in building_of.items() if levels.get(bid) != ZoneLevel.SEALED], timezone.localdate()
    )
    result = {}
    for hid, bid in building_of.items():
        reason = GO_OUT_SEALED if levels.get(bid) == ZoneLevel.SEALED else kept.get(hid)
        result[hid] = (reason is None, go_out_message(reason))
    return result
