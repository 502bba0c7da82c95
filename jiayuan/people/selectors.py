"""Reads of the resident record, always through the acting user's scope."""

from __future__ import annotations

import contextlib

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet

from jiayuan.core import crypto
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import get_scoped_or_404, restrict
from jiayuan.people import normalize
from jiayuan.people.choices import Presence, Tag
from jiayuan.people.models import Resident, ResidentTag

__all__ = ["resident_counts", "resident_counts_by_neighbourhood", "resident_get", "resident_list"]


def _base() -> QuerySet[Resident]:
    return Resident.objects.select_related("household__building__compound").prefetch_related("tag_rows")


def resident_list(
    *,
    user,
    search: str = "",
    building_id: int | None = None,
    household_id: int | None = None,
    tag: str = "",
    presence: str = "",
    action: str = Action.VIEW_ROSTER,
) -> QuerySet[Resident]:
    """Residents the user may see, filtered.

    ``search`` matches a name fragment, a room number (``301``, ``3-301`` for building 3 room
    301), the last four digits of a phone, or a full phone / ID number (by keyed hash).
    """
    qs = restrict(_base(), user, action)
    if building_id:
        qs = qs.filter(household__building_id=building_id)
    if household_id:
        qs = qs.filter(household_id=household_id)
    if tag:
        qs = qs.filter(tag_rows__tag=tag)
    if presence:
        qs = qs.filter(presence=presence)
    text = normalize.clean_text(search)
    if text:
        qs = qs.filter(_search_q(text))
    return qs.order_by(
        "household__building__compound_id",
        "household__building__sort_key",
        "household__unit",
        "household__floor",
        "household__room",
        "id",
    )


def _search_q(text: str) -> Q:
    compact = text.replace(" ", "")
    q = Q(name__contains=text)
    if compact.isdigit() and len(compact) == 4:
        q |= Q(phone_last4=compact) | Q(household__room=compact)
    elif compact.isdigit() and len(compact) <= 5:
        q |= Q(household__room=compact)
    if "-" in compact:
        building, _sep, room = compact.partition("-")
        q |= Q(household__building__number=building.upper(), household__room=room.upper())
    if len(compact) >= 7:
        with contextlib.suppress(ValidationError):  # not a phone: the other alternatives still apply
            q |= Q(phone_hash=crypto.keyed_hash(normalize.normalize_phone(compact)))
        q |= Q(id_number_hash=crypto.keyed_hash(normalize.normalize_id_number(compact)))
    return q


def resident_get(*, user, resident_id: int, action: str = Action.VIEW_ROSTER) -> Resident:
    """One resident through the user's scope; outside it (or missing) is Http404."""
    return get_scoped_or_404(_base(), user, action, pk=resident_id)


def resident_counts(*, user) -> dict:
    """Totals for the home page: residents by presence and by tag, and households.

    Aggregates only: street officers, who may not read names, see these.
    """
    qs = restrict(Resident.objects.all(), user, Action.VIEW_COUNTS)
    by_presence = dict(qs.values_list("presence").annotate(n=Count("id")).order_by())
    tag_counts = dict(
        ResidentTag.objects.filter(resident__in=qs.values("id")).values_list("tag").annotate(n=Count("id")).order_by()
    )
    return {
        "residents": sum(by_presence.values()),
        "households": qs.exclude(household=None).values("household_id").distinct().count(),
        "presence": [(str(label), by_presence.get(code, 0)) for code, label in Presence.choices],
        "tags": [(code, str(label), tag_counts.get(code, 0)) for code, label in Tag.choices],
    }


def resident_counts_by_neighbourhood(*, user) -> dict[int, dict]:
    """Per-neighbourhood residents, households and presence counts, in two grouped queries."""
    qs = restrict(Resident.objects.all(), user, Action.VIEW_COUNTS)
    result: dict[int, dict] = {}
    for nb_id, presence, n in qs.values_list("neighbourhood_id", "presence").annotate(n=Count("id")).order_by():
        row = result.setdefault(nb_id, {"residents": 0, "households": 0, "by_presence": {}})
        row["residents"] += n
        row["by_presence"][presence] = n
    households = (
        qs.exclude(household=None)
        .values_list("neighbourhood_id")
        .annotate(n=Count("household_id", distinct=True))
        .order_by()
    )
    for nb_id, n in households:
        result[nb_id]["households"] = n
    for row in result.values():
        row["presence"] = [(str(label), row["by_presence"].get(code, 0)) for code, label in Presence.choices]
    return result
