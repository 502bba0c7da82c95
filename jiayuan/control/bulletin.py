"""What control gives the daily bulletin, the trend dashboard and the roll-up: new cases as
counts per building, zone changes, buildings unsealed, quarantines ending. Counts and building
names only, never a person or a room.

A day's zone level of a building: today's is the effective level (``selectors.zone_levels``,
overrides included, as the zone pages show it); an earlier day's is read back from the zone
history (the last change of the building, or of its compound, on or before that day).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiayuan.control.choices import TEMPORARY_REASONS, CaseStatus, QuarantineStatus, ZoneLevel, ZoneUnit
from jiayuan.control.models import Case, Quarantine, ZoneChange, ZoneSettings
from jiayuan.control.selectors import _active_overrides, zone_levels
from jiayuan.core import extensions
from jiayuan.core.extensions import BulletinFigure, BulletinSection
from jiayuan.places.models import Building

__all__ = ["register"]


def _cases(nb_ids):
    return Case.objects.filter(neighbourhood_id__in=list(nb_ids)).exclude(status=CaseStatus.VOIDED)


def cases_new_by_neighbourhood(nb_ids, day: dt.date) -> dict[int, int]:
    """Cases detected on ``day`` (voided ones, entered by mistake, not counted)."""
    return dict(
        _cases(nb_ids).filter(detected_on=day).values_list("neighbourhood_id").annotate(n=Count("id")).order_by()
    )


def building_levels(nb_ids, day: dt.date) -> dict[int, tuple[int, str]]:
    """``{building_id: (neighbourhood_id, level)}`` on ``day``."""
    buildings = list(
        Building.objects.filter(neighbourhood_id__in=list(nb_ids)).values_list("id", "compound_id", "neighbourhood_id")
    )
    if day >= timezone.localdate():
        levels = zone_levels(building_ids=[b for b, _c, _n in buildings])
        return {b: (nb, levels.get(b, ZoneLevel.PRECAUTION)) for b, _c, nb in buildings}
    own: dict[int, tuple] = {}
    of_compound: dict[int, tuple] = {}
    changes = (
        ZoneChange.objects.filter(neighbourhood_id__in=list(nb_ids), on__lte=day)
        .order_by("on", "at", "id")
        .values_list("building_id", "compound_id", "to_level")
    )
    for bid, cid, level in changes:
        if bid:
            own[bid] = level
        elif cid:
            of_compound[cid] = level
    # The engine records compounds' levels too; they are the buildings' only where the zone unit
    # of the neighbourhood is the compound.
    by_compound = set(
        ZoneSettings.objects.filter(neighbourhood_id__in=list(nb_ids), unit=ZoneUnit.COMPOUND).values_list(
            "neighbourhood_id", flat=True
        )
    )
    result = {}
    for bid, cid, nb in buildings:
        latest = of_compound.get(cid) if nb in by_compound else own.get(bid)
        result[bid] = (nb, latest or ZoneLevel.PRECAUTION)
    return result


def _may_be_sealed_today(nb_ids) -> list[int]:
    """Buildings of these neighbourhoods that can be sealed today: those with a stored level or an
    override in force (on themselves or their compound); any other building is a precaution zone."""
    overrides = _active_overrides()
    return list(
        Building.objects.filter(neighbourhood_id__in=list(nb_ids))
        .filter(
            Q(zone_status__isnull=False)
            | Exists(overrides.filter(building_id=OuterRef("pk")))
            | Exists(overrides.filter(compound_id=OuterRef("compound_id")))
        )
        .values_list("id", "neighbourhood_id")
    )


def sealed_buildings_by_neighbourhood(nb_ids, day: dt.date) -> dict[int, int]:
    if day >= timezone.localdate():
        # Today's effective levels (overrides included) of the few buildings that can be sealed,
        # rather than of every building of a street or district.
        candidates = _may_be_sealed_today(nb_ids)
        levels = zone_levels(building_ids=[b for b, _nb in candidates])
        return dict(Counter(nb for b, nb in candidates if levels.get(b) == ZoneLevel.SEALED))
    return dict(Counter(nb for nb, level in building_levels(nb_ids, day).values() if level == ZoneLevel.SEALED))


def _quarantines_ended(neighbourhood, day: dt.date) -> int:
    return (
        Quarantine.objects.filter(neighbourhood=neighbourhood, status=QuarantineStatus.RELEASED, ended_on=day)
        .exclude(reason__in=TEMPORARY_REASONS)
        .count()
    )


def section(neighbourhood, day: dt.date) -> BulletinSection:
    yesterday = day - dt.timedelta(days=1)
    by_building: dict[int, dict[dt.date, int]] = defaultdict(dict)
    rows = (
        _cases([neighbourhood.pk])
        .filter(detected_on__in=[day, yesterday])
        .values_list("building_id", "detected_on")
        .annotate(n=Count("id"))
        .order_by()
    )
    for bid, on, n in rows:
        by_building[bid][on] = n
    names = {b.pk: b.name for b in Building.objects.filter(pk__in=[b for b in by_building if b])}
    per_building = sorted(by_building.items(), key=lambda kv: (kv[0] is None, names.get(kv[0], "")))
    total = [sum(v.get(d, 0) for v in by_building.values()) for d in (day, yesterday)]
    figures = [BulletinFigure("cases_new", _("新增阳性"), total[0], total[1], unit=_("人"))]
    for bid, counts in per_building:
        figures.append(
            BulletinFigure(
                f"cases_new:{bid or 0}",
                _("新增阳性"),
                counts.get(day, 0),
                counts.get(yesterday, 0),
                place=names.get(bid, str(_("未分楼栋"))),
                unit=_("人"),
            )
        )
    sealed = [
        sealed_buildings_by_neighbourhood([neighbourhood.pk], d).get(neighbourhood.pk, 0) for d in (day, yesterday)
    ]
    figures.append(BulletinFigure("sealed_buildings", _("封控楼栋"), sealed[0], sealed[1], people=False, unit=_("栋")))
    lines, unsealed = _zone_lines(neighbourhood, day)
    unsealed_before = _zone_lines(neighbourhood, yesterday)[1]
    figures.append(
        BulletinFigure("buildings_unsealed", _("解封楼栋"), unsealed, unsealed_before, people=False, unit=_("栋"))
    )
    ended = [_quarantines_ended(neighbourhood, d) for d in (day, yesterday)]
    figures.append(BulletinFigure("quarantines_ended", _("解除隔离"), ended[0], ended[1], unit=_("人")))
    return BulletinSection(key="control", title=_("病例与分区"), figures=tuple(figures), lines=tuple(lines))


def _zone_lines(neighbourhood, day: dt.date) -> tuple[list[str], int]:
    """One line per place whose level changed on ``day`` ("3号楼:封控区 → 管控区"), and how many
    places left the sealed zone (解封)."""
    by_compound = ZoneSettings.objects.filter(neighbourhood_id=neighbourhood.pk, unit=ZoneUnit.COMPOUND).exists()
    changes = (
        ZoneChange.objects.filter(neighbourhood_id=neighbourhood.pk, on=day, building__isnull=by_compound)
        .select_related("building", "compound")
        .order_by("at", "id")
    )
    last: dict[tuple, ZoneChange] = {}
    first_from: dict[tuple, str] = {}
    for ch in changes:
        key = ("b", ch.building_id) if ch.building_id else ("c", ch.compound_id)
        first_from.setdefault(key, ch.from_level)
        last[key] = ch
    lines, unsealed = [], 0
    for key, ch in last.items():
        before = first_from[key]
        if before == ch.to_level:
            continue
        place = ch.building.name if ch.building_id else ch.compound.name
        lines.append(f"{place}:{ZoneLevel(before).label} → {ZoneLevel(ch.to_level).label}")
        if before == ZoneLevel.SEALED:
            unsealed += 1
    return lines, unsealed


def cases_trend(neighbourhood, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    rows = _cases([neighbourhood.pk]).filter(detected_on__range=(start, end)).values_list("detected_on")
    return dict(rows.annotate(n=Count("id")).order_by())


def sealed_trend(neighbourhood, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    return {d: sealed_buildings_by_neighbourhood([neighbourhood.pk], d).get(neighbourhood.pk, 0) for d in days}


def register() -> None:
    extensions.bulletin_section("control", section, order=30)
    extensions.trend_series("cases_new", _("新增阳性"), cases_trend, order=10)
    extensions.trend_series("sealed_buildings", _("封控楼栋"), sealed_trend, order=11)
    extensions.rollup_column("cases_new", _("新增阳性"), cases_new_by_neighbourhood, order=30)
    extensions.rollup_column("sealed_buildings", _("封控楼栋"), sealed_buildings_by_neighbourhood, order=31)
