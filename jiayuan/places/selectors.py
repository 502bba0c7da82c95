"""Reads of places, always through the acting user's scope."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from jiayuan.core.permissions import Action
from jiayuan.core.scoping import get_scoped_or_404, restrict
from jiayuan.people.choices import Presence
from jiayuan.places.models import Building, Compound, Household, Neighbourhood

__all__ = [
    "building_get",
    "building_list",
    "compound_get",
    "compound_list",
    "household_base",
    "household_get",
    "household_list",
    "neighbourhood_list",
]


def neighbourhood_list(*, user, action: str = Action.VIEW_COUNTS) -> QuerySet[Neighbourhood]:
    return restrict(Neighbourhood.objects.select_related("street"), user, action)


def compound_list(*, user, action: str = Action.VIEW_COUNTS) -> QuerySet[Compound]:
    return restrict(Compound.objects.select_related("neighbourhood"), user, action).annotate(
        building_count=Count("buildings", distinct=True)
    )


def compound_get(*, user, compound_id: int, action: str = Action.VIEW_COUNTS) -> Compound:
    return get_scoped_or_404(Compound.objects.select_related("neighbourhood"), user, action, pk=compound_id)


def building_list(*, user, compound_id: int | None = None, action: str = Action.VIEW_COUNTS) -> QuerySet[Building]:
    """Buildings with household and present-resident counts (one query, no N+1)."""
    qs = restrict(Building.objects.select_related("compound"), user, action)
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    return qs.annotate(
        household_count=Count("households", distinct=True),
        resident_count=Count("households__residents", distinct=True),
        present_count=Count(
            "households__residents", filter=Q(households__residents__presence=Presence.PRESENT), distinct=True
        ),
    ).order_by("compound__name", "sort_key", "number")


def building_get(*, user, building_id: int, action: str = Action.VIEW_COUNTS) -> Building:
    return get_scoped_or_404(Building.objects.select_related("compound"), user, action, pk=building_id)


def household_list(*, user, building_id: int, action: str = Action.VIEW_ROSTER) -> QuerySet[Household]:
    return (
        restrict(Household.objects.all(), user, action)
        .filter(building_id=building_id)
        .prefetch_related("residents__tag_rows")
        .order_by("unit", "floor", "room")
    )


def household_base() -> QuerySet[Household]:
    return Household.objects.select_related("building__compound")


def household_get(*, user, household_id: int, action: str = Action.VIEW_ROSTER) -> Household:
    return get_scoped_or_404(household_base(), user, action, pk=household_id)
