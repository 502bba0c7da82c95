"""Reads other apps rely on. Contract (ADR 0006): ``zone_levels`` is how screening and supplies
learn a building's zone level."""

from __future__ import annotations

from collections.abc import Iterable

from jiayuan.control.choices import ZoneLevel


def zone_levels(*, building_ids: Iterable[int]) -> dict[int, str]:
    """Effective zone level (a ``ZoneLevel`` value, override included) for each building id.

    Buildings with no recorded level are precaution zones.
    """
    # Placeholder until the zone engine lands: every building is a precaution zone.
    return dict.fromkeys(building_ids, ZoneLevel.PRECAUTION.value)
