"""Returnees (返乡/来沪人员): registered (at the committee or at a gate) with the quarantine the
policy decides."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction

from jiayuan.control.choices import (
    QuarantineReason,
    RiskLevel,
    Transport,
)
from jiayuan.control.models import (
    Returnee,
)
from jiayuan.control.services._shared import (
    _check_date,
    _place_of,
)
from jiayuan.control.services.quarantines import quarantine_start
from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record

# --- Returnees ---------------------------------------------------------------------------------

RISK_REASON = {
    RiskLevel.HIGH: QuarantineReason.RETURNEE_RISK_AREA,
    RiskLevel.MEDIUM: QuarantineReason.RETURNEE_RISK_AREA,
    RiskLevel.ABROAD: QuarantineReason.ARRIVAL_ABROAD,
    RiskLevel.LOW: QuarantineReason.OTHER,
}


@transaction.atomic
def returnee_register(
    *,
    actor,
    resident,
    origin: str,
    origin_risk: str,
    arrival_on: dt.date,
    transport: str,
    transport_detail: str = "",
    commitment_signed: bool = False,
) -> Returnee:
    """Register an arrival; the quarantine the origin's risk level calls for starts on the
    arrival date (high/medium risk: returnee policy; abroad: arrival-from-abroad policy; low
    risk: home health monitoring)."""
    errors: dict[str, list[str]] = {}
    origin = (origin or "").strip()
    if not origin:
        errors["origin"] = ["请填写出发地"]
    if origin_risk not in RiskLevel.values:
        errors["origin_risk"] = ["请选择出发地风险等级"]
    if transport not in Transport.values:
        errors["transport"] = ["请选择交通方式"]
    try:
        _check_date("arrival_on", arrival_on, label="抵达日期")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    place = _place_of(resident)
    reason = RISK_REASON[origin_risk]
    quarantine = quarantine_start(actor=actor, reason=reason, resident=resident, start_on=arrival_on)
    returnee = Returnee.objects.create(
        neighbourhood_id=place["neighbourhood_id"],
        building_id=place["building_id"],
        resident=resident,
        origin=origin[:100],
        origin_risk=origin_risk,
        arrival_on=arrival_on,
        transport=transport,
        transport_detail=transport_detail.strip()[:50],
        commitment_signed=bool(commitment_signed),
        quarantine=quarantine if not hasattr(quarantine, "returnee") else None,
        registered_by=_user(actor),
    )
    audit_record(
        actor=actor,
        action="returnee.register",
        obj=returnee,
        changes={"origin_risk": origin_risk, "arrival_on": str(arrival_on), "quarantine": quarantine.pk},
    )
    return returnee
