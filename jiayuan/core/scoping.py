"""The one place that turns a user's role assignments into query filters.

Every page, API endpoint and selector fetches objects through ``restrict(queryset, user,
action)``. A model opts in by declaring ``scope_fields``: for each scope level (street,
neighbourhood, compound, building) the lookup path from the model to that level's id, or a
callable ``(ids) -> Q`` where a plain path does not fit. A level missing from the map grants
nothing on that model. An object outside the result is treated as missing (HTTP 404), so an
outsider cannot learn whether it exists.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from django.db.models import Model, Q, QuerySet
from django.http import Http404

from jiayuan.core.permissions import role_can

__all__ = [
    "LEVELS",
    "can",
    "get_scoped_or_404",
    "permits",
    "require_row",
    "restrict",
    "roles",
    "scope_ids",
    "scope_sql",
]

LEVELS = ("street", "neighbourhood", "compound", "building")

ScopeSpec = str | Callable[[Iterable[int]], Q]


def scope_ids(user, action: str) -> dict[str, set[int]]:
    """The ids the user's assignments grant ``action`` over, per level (cached on the user)."""
    cache = user.__dict__.setdefault("_jiayuan_scope_cache", {})
    if action in cache:
        return cache[action]
    result: dict[str, set[int]] = defaultdict(set)
    if user.is_authenticated and user.is_active:
        for a in _assignments(user):
            if role_can(a.role, action):
                result[a.level].add(a.target_id)
    cache[action] = dict(result)
    return cache[action]


def roles(user) -> frozenset[str]:
    """The roles of the user's active assignments, whatever their scope (what the user's day is
    made of: the home page's "今天要做的事"). Grants still come from ``restrict`` and ``can``."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    return frozenset(a.role for a in _assignments(user))


def _assignments(user):
    cached = user.__dict__.get("_jiayuan_assignments")
    if cached is None:
        cached = list(user.assignments.filter(active=True))
        user.__dict__["_jiayuan_assignments"] = cached
    return cached


def restrict(queryset: QuerySet, user, action: str) -> QuerySet:
    """``queryset`` narrowed to what ``user`` may ``action``; empty when nothing is granted."""
    if user is None or not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.is_superuser:
        return queryset
    spec: dict[str, ScopeSpec] = getattr(queryset.model, "scope_fields", {})
    q = Q()
    granted = False
    for level, ids in scope_ids(user, action).items():
        path = spec.get(level)
        if path is None or not ids:
            continue
        q |= path(ids) if callable(path) else Q(**{f"{path}__in": sorted(ids)})
        granted = True
    return queryset.filter(q) if granted else queryset.none()


def scope_sql(model: type[Model], user, action: str, alias: str, conn) -> tuple[str, list[int]] | None:
    """``restrict`` as a raw SQL condition on ``alias`` (a row of ``model``), for hand-written hot
    paths — or None where it is not a plain one (a level whose path leaves the model or is a
    callable): the caller then goes through ``restrict``. The same grants, read the same way."""
    if user is None or not user.is_authenticated or not user.is_active:
        return "1 = 0", []
    if user.is_superuser:
        return "1 = 1", []
    spec: dict[str, ScopeSpec] = getattr(model, "scope_fields", {})
    qn = conn.ops.quote_name
    parts: list[str] = []
    params: list[int] = []
    for level, ids in scope_ids(user, action).items():
        path = spec.get(level)
        if path is None or not ids:
            continue
        if callable(path) or "__" in path:
            return None
        column = model._meta.get_field(path).column
        parts.append(f"{alias}.{qn(column)} IN ({', '.join(['%s'] * len(ids))})")
        params += sorted(ids)
    if not parts:
        return "1 = 0", []
    return "(" + " OR ".join(parts) + ")", params


def permits(user, action: str, model: type[Model], values: dict) -> bool | None:
    """Whether ``restrict(model, user, action)`` keeps a row whose scope paths (``scope_fields``'
    plain paths, e.g. ``"compound_id"``, ``"neighbourhood__street_id"``) have these ``values``,
    for a hot path that read the row with its user in one statement. None where the values cannot
    tell (a grant through a callable path, or a path not given): the caller asks ``restrict``."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    spec: dict[str, ScopeSpec] = getattr(model, "scope_fields", {})
    undecided = False
    for level, ids in scope_ids(user, action).items():
        path = spec.get(level)
        if path is None or not ids:
            continue
        if callable(path) or path not in values:
            undecided = True
        elif values[path] in ids:
            return True
    return None if undecided else False


def require_row(user, action: str, model: type[Model], pk: int, values: dict) -> None:
    """404 unless ``user`` may ``action`` on the ``model`` row ``pk`` whose scope paths have these
    ``values`` (``permits``; ``restrict`` asked where the values cannot tell)."""
    allowed = permits(user, action, model, values)
    if allowed is None:
        allowed = restrict(model._default_manager.filter(pk=pk), user, action).exists()
    if not allowed:
        raise Http404


def can(user, action: str, obj: Model | None = None) -> bool:
    """Whether ``user`` may ``action`` on ``obj`` (or on anything at all, when ``obj`` is None)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if obj is None:
        return any(scope_ids(user, action).values())
    return restrict(type(obj)._default_manager.filter(pk=obj.pk), user, action).exists()


def get_scoped_or_404(queryset: QuerySet, user, action: str, **lookup) -> Model:
    """Fetch one object through the user's scope; missing and forbidden are the same 404."""
    try:
        return restrict(queryset, user, action).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
