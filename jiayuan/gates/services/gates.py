"""Gate posts and their neighbourhood's gate settings: create, open, close or restrict (with a
history of changes); the errors and helpers the other gate services share."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction

from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record
from jiayuan.gates.choices import (
    GateState,
    Restriction,
)
from jiayuan.gates.models import Gate, GateSettings, GateStateChange

MSG_UNKNOWN_CODE = "无法识别的居民码或通行证, 请核对或按楼栋房号查找"
MSG_TEMPERATURE = "体温应在 34.0 至 43.0 ℃ 之间"
PASS_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105 (not a password)


class GateConflict(Exception):
    """A state conflict the caller cannot fix by changing the input (HTTP 409 with ``code``)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# --- Settings and gates ------------------------------------------------------------------------


def settings_for(neighbourhood_id: int) -> GateSettings:
    """The neighbourhood's gate settings, or the defaults (unsaved) when it has none."""
    return GateSettings.objects.filter(neighbourhood_id=neighbourhood_id).first() or GateSettings(
        neighbourhood_id=neighbourhood_id
    )


@transaction.atomic
def settings_update(*, actor, neighbourhood, **values) -> GateSettings:
    """Change the neighbourhood's gate settings (fields of ``GateSettings``)."""
    fields = {"controlled_may_go_out", "pass_required", "presence_follows", "parcel_overdue_hours"}
    unknown = set(values) - fields
    if unknown:
        raise TypeError(f"settings_update got unexpected fields: {sorted(unknown)}")
    current = settings_for(neighbourhood.pk)
    changes = {}
    for field, value in values.items():
        if getattr(current, field) != value:
            changes[field] = [getattr(current, field), value]
            setattr(current, field, value)
    if values.get("parcel_overdue_hours") is not None and not 1 <= values["parcel_overdue_hours"] <= 240:
        raise ValidationError({"parcel_overdue_hours": ["滞留提醒应在 1 至 240 小时之间"]})
    current.save()
    audit_record(actor=actor, action="gates.settings_update", obj=current, changes=changes)
    return current


@transaction.atomic
def gate_create(*, actor, compound, name: str, note: str = "") -> Gate:
    """Add a gate post to a compound (open)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["请填写门岗名称"]})
    if Gate.objects.filter(compound=compound, name=name).exists():
        raise ValidationError({"name": ["本小区已有同名门岗"]})
    gate = Gate.objects.create(
        neighbourhood_id=compound.neighbourhood_id, compound=compound, name=name[:64], note=(note or "")[:200]
    )
    GateStateChange.objects.create(
        gate=gate,
        neighbourhood_id=gate.neighbourhood_id,
        compound_id=gate.compound_id,
        state=gate.state,
        note=gate.note,
        actor=_user(actor),
    )
    audit_record(actor=actor, action="gates.gate_create", obj=gate, changes={"compound": compound.pk})
    return gate


@transaction.atomic
def gate_set_state(
    *,
    actor,
    gate: Gate,
    state: str,
    note: str = "",
    restriction: str = "",
    open_from: dt.time | None = None,
    open_to: dt.time | None = None,
) -> Gate:
    """Open, close or restrict a gate; the change joins the gate's history."""
    errors: dict[str, list[str]] = {}
    if state not in GateState.values:
        errors["state"] = ["不是可选值之一: open, closed, restricted"]
    if state == GateState.RESTRICTED:
        restriction = restriction or Restriction.RESIDENTS_ONLY
        if restriction not in Restriction.values:
            errors["restriction"] = ["不是可选值之一: " + ", ".join(Restriction.values)]
        if restriction == Restriction.HOURS and (open_from is None or open_to is None or open_from == open_to):
            errors["open_from"] = ["限时开放请填写开放时间(起止不能相同)"]
    else:
        restriction, open_from, open_to = "", None, None
    if restriction != Restriction.HOURS:
        open_from = open_to = None
    if errors:
        raise ValidationError(errors)
    gate = Gate.objects.select_for_update().get(pk=gate.pk)
    before = gate.state_text
    gate.state, gate.restriction, gate.open_from, gate.open_to = state, restriction, open_from, open_to
    gate.note = (note or "").strip()[:200]
    gate.save()
    GateStateChange.objects.create(
        gate=gate,
        neighbourhood_id=gate.neighbourhood_id,
        compound_id=gate.compound_id,
        state=state,
        restriction=restriction,
        open_from=open_from,
        open_to=open_to,
        note=gate.note,
        actor=_user(actor),
    )
    changes = {"state": [before, gate.state_text], "note": gate.note}
    audit_record(actor=actor, action="gates.gate_state", obj=gate, changes=changes)
    return gate
