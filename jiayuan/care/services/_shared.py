"""What the care services share: text and key cleaning, the actor's label, the neighbourhood's care
settings."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from jiayuan.care.choices import (
    Priority,
    Urgency,
)
from jiayuan.care.models import (
    CareSettings,
)
from jiayuan.core.audit import audit_record

MAX_TEXT = 2000
_RANK = [Priority.LOW, Priority.NORMAL, Priority.HIGH]
_BASE = {Urgency.EMERGENCY: Priority.HIGH, Urgency.TODAY: Priority.NORMAL, Urgency.ROUTINE: Priority.LOW}


def settings_for(neighbourhood_id: int) -> CareSettings:
    obj, _created = CareSettings.objects.get_or_create(neighbourhood_id=neighbourhood_id)
    return obj


def _actor_label(actor) -> str:
    """Who did a step, as the request's history shows it: a person's name, or 住户 for the household."""
    if getattr(actor, "is_authenticated", False):
        return str(actor)
    if str(actor or "").startswith("household-link:"):
        return str(_("住户"))
    return str(actor or "")


def clean_key(key: str | None) -> str:
    key = (key or "").strip()
    if len(key) > 200 or any(not ch.isprintable() for ch in key):
        raise ValidationError({"idempotency_key": [_("幂等键只能是200个字符以内的可打印字符")]})
    return key


def _clean_text(value: str, field: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    value = (value or "").replace("\x00", "").strip()
    if required and not value:
        raise ValidationError({field: [_("请填写内容")]})
    if len(value) > limit:
        raise ValidationError({field: [_("内容过长(最多 %(n)s 字)") % {"n": limit}]})
    return value


@transaction.atomic
def settings_update(*, actor, settings: CareSettings, **values) -> CareSettings:
    for field, value in values.items():
        setattr(settings, field, value)
    settings.save()
    audit_record(
        actor=actor,
        action="care.settings_update",
        obj=settings,
        object_repr=str(settings),
        changes=dict(values.items()),
    )
    return settings
