"""Writing audit events. Every service that changes state or reveals personal data calls this."""

from __future__ import annotations

from typing import Any

from django.db import models

from jiayuan.core import context
from jiayuan.core.models import AuditEvent

__all__ = ["audit_event", "audit_record"]


def audit_event(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    object_repr: str = "",
    neighbourhood_id: int | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """One audit event, not yet saved: for services that write many at once with ``bulk_create``.

    ``obj`` fills type, id and repr (its ``audit_repr()`` if it has one, which must be masked);
    ``neighbourhood_id`` defaults to ``obj.neighbourhood_id``.
    """
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
        object_repr = object_repr or (obj.audit_repr() if hasattr(obj, "audit_repr") else str(obj))
        if neighbourhood_id is None:
            neighbourhood_id = getattr(obj, "neighbourhood_id", None)
    ctx = context.current()
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEvent(
        actor=actor if is_user else None,
        actor_label=(actor.get_username() if is_user else str(actor or ""))[:150],
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        object_repr=object_repr[:200],
        neighbourhood_id=neighbourhood_id,
        changes=changes or {},
        ip=ctx.ip,
        user_agent=ctx.user_agent,
        channel=ctx.channel,
    )


def audit_record(**kwargs) -> AuditEvent:
    """Append one audit event inside the caller's transaction (the arguments of ``audit_event``)."""
    event = audit_event(**kwargs)
    event.save(force_insert=True)
    return event
