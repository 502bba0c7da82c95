"""Reads of the audit log."""

from __future__ import annotations

from django.db.models import QuerySet

from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import scope_ids


def audit_event_list(*, user, action_prefix: str = "", actor: str = "") -> QuerySet[AuditEvent]:
    """Audit events of the neighbourhoods where the user may ``view_audit`` (superuser: all)."""
    qs = AuditEvent.objects.all()
    if not user.is_superuser:
        ids = scope_ids(user, Action.VIEW_AUDIT).get("neighbourhood", set())
        qs = qs.filter(neighbourhood_id__in=sorted(ids)) if ids else qs.none()
    if action_prefix:
        qs = qs.filter(action__startswith=action_prefix)
    if actor:
        qs = qs.filter(actor_label=actor)
    return qs
