"""Writing audit events. Every service that changes state or reveals personal data calls this."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict, Unpack

from django.db import models

from jiayuan.core import context
from jiayuan.core.models import AuditEvent

__all__ = ["audit_event", "audit_record", "audit_values"]


def audit_values(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    object_repr: str = "",
    neighbourhood_id: int | None = None,
    changes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An audit event's column values by attribute name (``actor_id`` …), all but ``created_at``
    and the id: ``audit_event`` builds the event from them, and a hot path's hand-written insert
    (the gate's scan) writes them as they are.

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
    return {
        "actor_id": actor.pk if is_user else None,
        "actor_label": (actor.get_username() if is_user else str(actor or ""))[:150],
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id or ""),
        "object_repr": object_repr[:200],
        "neighbourhood_id": neighbourhood_id,
        "changes": changes or {},
        "ip": ctx.ip,
        "user_agent": ctx.user_agent,
        "channel": ctx.channel,
    }


class AuditArgs(TypedDict):
    """The arguments of ``audit_values``, ``audit_event`` and ``audit_record`` (keyword only)."""

    actor: Any
    action: str
    obj: NotRequired[models.Model | None]
    object_type: NotRequired[str]
    object_id: NotRequired[str | int]
    object_repr: NotRequired[str]
    neighbourhood_id: NotRequired[int | None]
    changes: NotRequired[dict[str, Any] | None]


def audit_event(**kwargs: Unpack[AuditArgs]) -> AuditEvent:
    """One audit event, not yet saved (the arguments of ``audit_values``): for services that write
    many at once with ``bulk_create``."""
    values = audit_values(**kwargs)
    actor = kwargs["actor"]
    if values["actor_id"] is not None:
        del values["actor_id"]
        return AuditEvent(actor=actor, **values)  # the instance keeps its actor (no query to read it)
    return AuditEvent(**values)


def audit_record(**kwargs: Unpack[AuditArgs]) -> AuditEvent:
    """Append one audit event inside the caller's transaction (the arguments of ``audit_event``)."""
    event = audit_event(**kwargs)
    event.save(force_insert=True)
    return event
