"""Reads of the team pages, always through the acting user's ``MANAGE_TEAM`` scope."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from jiayuan.accounts.models import Assignment, User
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can, restrict
from jiayuan.places.models import Building, Compound, Neighbourhood

__all__ = ["team_assignment_get", "team_list", "team_member_get", "team_scope_resolve", "team_scopes"]


def _team_assignments(user) -> QuerySet[Assignment]:
    return restrict(Assignment.objects.all(), user, Action.MANAGE_TEAM)


def team_list(*, user, q: str = "", include_inactive: bool = False) -> QuerySet[User]:
    """People holding a role in the user's team (active roles only, unless ``include_inactive``),
    each with those roles prefetched as ``team_roles``; ``q`` searches name and username."""
    if not can(user, Action.MANAGE_TEAM):
        return User.objects.none()
    roles = _team_assignments(user)
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
    assignment = _team_assignments(user).select_related("user").filter(pk=assignment_id).first()
    if assignment is None:
        raise Http404
    return assignment


def team_scopes(*, user) -> list[tuple[str, list[tuple[str, str]]]]:
    """Places the user may hand out roles over, grouped by level: ``[("building", [("building:12",
    "阳光小区 3号楼"), …]), …]``."""
    nbs = restrict(Neighbourhood.objects.order_by("name"), user, Action.MANAGE_TEAM)
    compounds = restrict(Compound.objects.select_related("neighbourhood").order_by("name"), user, Action.MANAGE_TEAM)
    buildings = restrict(
        Building.objects.select_related("compound").order_by("compound__name", "sort_key", "id"),
        user,
        Action.MANAGE_TEAM,
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
    return restrict(model.objects.all(), user, Action.MANAGE_TEAM).filter(pk=int(raw)).first()
