"""A person arriving from outside, registered at the gate: control's returnee record (with the
quarantine control's rules decide) and the passage in."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from jiayuan.control import services as control_services
from jiayuan.gates.choices import (
    Direction,
)
from jiayuan.gates.models import Gate
from jiayuan.gates.services.passages import passage_record
from jiayuan.people.models import Resident

# --- Returnees at the gate ---------------------------------------------------------------------


@transaction.atomic
def returnee_at_gate(
    *,
    actor,
    gate: Gate,
    resident: Resident,
    origin: str,
    origin_risk: str,
    transport: str,
    transport_detail: str = "",
    commitment_signed: bool = False,
    temperature=None,
):
    """A resident arriving from outside, registered at the gate: control's returnee record (and
    the quarantine control's policy decides), then their passage in. Returns ``(returnee, outcome)``."""
    if not commitment_signed:
        raise ValidationError({"commitment_signed": ["请返沪人员签署承诺书后再登记"]})
    returnee = control_services.returnee_register(
        actor=actor,
        resident=resident,
        origin=origin,
        origin_risk=origin_risk,
        arrival_on=timezone.localdate(),
        transport=transport,
        transport_detail=transport_detail,
        commitment_signed=commitment_signed,
    )
    outcome = passage_record(
        actor=actor, gate=gate, direction=Direction.IN, resident=resident, temperature=temperature, returnee=True
    )
    return returnee, outcome
