"""Reads of the team pages, always through the acting user's ``MANAGE_TEAM`` scope."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from jiayuan.accounts.models import Assignment, User
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import scope_ids
from jiayuan.places.models import Building, Compound, Neighbourhood

__all__ = [
    "manages_team",
    "team_assignment_get",
    "team_assignments",
    "team_list",
    "team_member_get",
    "team_neighbourhood_ids",
    "team_scope_resolve",
    "team_scopes",
]


def team_neighbourhood_ids(user) -> set[int] | None:
    """The neighbourhoods whose team ``user`` manages: ``MANAGE_TEAM`` held over the whole
    neighbourhood, or over its street. A grant over one compound or building manages no team (it
    would otherwise reach up to the neighbourhood, as reading grants do). None: all (superuser)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return set()
    if user.is_superuser:
        return None
    # Cached on the user for the request, like ``scope_ids`` (a page asks several times).
    cached = user.__dict__.get("_jiayuan_team_neighbourhoods")
    if cached is not None:
        return cached
    ids = scope_ids(user, Action.MANAGE_TEAM)
    nbs = set(ids.get("neighbourhood", ()))
    if ids.get("street"):
        nbs |= set(Neighbourhood.objects.filter(street_id__in=ids["street"]).values_list("id", flat=True))
    user.__dict__["_jiayuan_team_neighbourhoods"] = nbs
    return nbs


def manages_team(user) -> bool:
    ids = team_neighbourhood_ids(user)
    return ids is None or bool(ids)


def team_assignments(user) -> QuerySet[Assignment]:
    """Every assignment (active or not) over a place in a neighbourhood whose team ``user`` manages."""
    ids = team_neighbourhood_ids(user)
    if ids is None:
        return Assignment.objects.all()
    return (
        Assignment.objects.filter(Assignment.scope_fields["neighbourhood"](ids)) if ids else Assignment.objects.none()
    )


def _in_team(qs: QuerySet, user, path: str) -> QuerySet:
    ids = team_neighbourhood_ids(user)
    return qs if ids is None else qs.filter(**{f"{path}__in": ids})


def team_list(*, user, q: str = "", include_inactive: bool = False) -> QuerySet[User]:
    """People holding a role in the user's team (active roles only, unless ``include_inactive``),
    each with those roles prefetched as ``team_roles``; ``q`` searches name and username."""
    if not manages_team(user):
        return User.objects.none()
    roles = team_assignments(user)
    if not include_inactive:
        roles = roles.filter(active=True)
    people = User.objects.filter(pk__in=roles.values("user_id"))
    q = (q or "").strip()[:64]
    if q:
        people = people.filter(Q(username__icontains=q) | Q(display_name__icontains=q))
    shown = roles.select_related("neighbourhood", "compound", "building__compound").order_by("-active", "role", "id")
    return people.prefetch_related(Prefetch("assignments", queryset=shown, to_attr="team_roles")).order_by(
        "display_name", "username"
    )


def team_member_get(*, user, member_id: int) -> User:
    """One member of the user's team (any of their roles, active or not, in the user's scope), else 404."""
    member = team_list(user=user, include_inactive=True).filter(pk=member_id).first()
    if member is None:
        raise Http404
    return member


def team_assignment_get(*, user, assignment_id: int) -> Assignment:
    assignment = team_assignments(user).select_related("user").filter(pk=assignment_id).first()
    if assignment is None:
        raise Http404
    return assignment


def team_scopes(*, user) -> list[tuple[str, list[tuple[str, str]]]]:
    """Places the user may hand out roles over, grouped by level: ``[("building", [("building:12",
    "阳光小区 3号楼"), …]), …]``."""
    nbs = _in_team(Neighbourhood.objects.order_by("name"), user, "id")
    compounds = _in_team(Compound.objects.order_by("name"), user, "neighbourhood_id")
    buildings = _in_team(
        Building.objects.select_related("compound").order_by("compound__name", "sort_key", "id"),
        user,
        "neighbourhood_id",
    )
    groups = [
        ("neighbourhood", [(f"neighbourhood:{n.pk}", n.name) for n in nbs]),
        ("compound", [(f"compound:{c.pk}", c.name) for c in compounds]),
        ("building", [(f"building:{b.pk}", f"{b.compound.name} {b.name}") for b in buildings]),
    ]
    return [(label, choices) for label, choices in groups if choices]


def team_scope_resolve(*, user, value: str):
    """``"building:12"`` → that building, if the user may hand out roles over it; else None."""
    level, _sep, raw = (value or "").partition(":")
    model = {"neighbourhood": Neighbourhood, "compound": Compound, "building": Building}.get(level)
    if model is None or not raw.isdigit() or len(raw) > 18:
        return None
    path = "id" if model is Neighbourhood else "neighbourhood_id"
    return _in_team(model.objects.all(), user, path).filter(pk=int(raw)).first()
