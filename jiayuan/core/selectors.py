"""Reads of the audit log (the 操作记录 page)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from jiayuan.core import extensions
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import restrict, scope_ids


def audit_event_list(
    *,
    user,
    action_prefix: str = "",
    actor: str = "",
    actor_id: int | None = None,
    kind: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[AuditEvent]:
    """Audit events of the neighbourhoods where the user may ``view_audit`` (superuser: all),
    newest first, with their actor.

    ``actor_id``: done by that user; ``kind``: an action group registered with
    ``extensions.audit_labels`` (an unknown kind matches nothing); ``date_from`` / ``date_to``:
    local calendar days, both included; ``actor``: the login stored with the event.
    """
    qs = AuditEvent.objects.select_related("actor")
    if not user.is_superuser:
        ids = scope_ids(user, Action.VIEW_AUDIT).get("neighbourhood", set())
        qs = qs.filter(neighbourhood_id__in=sorted(ids)) if ids else qs.none()
    if action_prefix:
        qs = qs.filter(action__startswith=action_prefix)
    if actor:
        qs = qs.filter(actor_label=actor)
    if actor_id is not None:
        qs = qs.filter(actor_id=actor_id)
    if kind:
        actions = next((k.actions for k in extensions.audit_kinds() if k.key == kind), ())
        qs = qs.filter(action__in=actions) if actions else qs.none()
    # A range on the indexed column rather than ``created_at__date`` (which would not use it).
    if date_from is not None:
        qs = qs.filter(created_at__gte=_day_start(date_from))
    if date_to is not None:
        qs = qs.filter(created_at__lt=_day_start(date_to + dt.timedelta(days=1)))
    return qs


def audit_actor_choices(*, user) -> list:
    """The members the user may look up in the audit log: everyone with a role in the
    neighbourhoods whose log the user may read (superuser: every account), by display name."""
    users = get_user_model().objects.all()
    if not user.is_superuser:
        assignment = get_user_model().assignments.rel.related_model
        in_scope = restrict(assignment.objects.all(), user, Action.VIEW_AUDIT).values("user_id")
        users = users.filter(pk__in=in_scope)
    return sorted(users, key=lambda u: (str(u), u.pk))


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
