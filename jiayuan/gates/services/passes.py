"""Passes (通行证): issued per household or person, with a kind, validity and a quota per period."""

from __future__ import annotations

import datetime as dt
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record
from jiayuan.gates.choices import (
    PassKind,
)
from jiayuan.gates.models import Pass
from jiayuan.gates.services.gates import PASS_ALPHABET
from jiayuan.people import normalize
from jiayuan.people.models import Resident
from jiayuan.places.models import Household

# --- Passes ------------------------------------------------------------------------------------


def _pass_code() -> str:
    return "P-" + "".join(secrets.choice(PASS_ALPHABET) for _i in range(10))


@transaction.atomic
def pass_issue(
    *,
    actor,
    household: Household,
    kind: str = PassKind.SHOPPING,
    valid_from: dt.date,
    valid_to: dt.date,
    quota: int = 1,
    period_days: int = 2,
    resident: Resident | None = None,
    employer: str = "",
) -> Pass:
    """Issue a pass to a household (or to one of its residents)."""
    errors: dict[str, list[str]] = {}
    if kind not in PassKind.values:
        errors["kind"] = ["不是可选值之一: " + ", ".join(PassKind.values)]
    if valid_to < valid_from:
        errors["valid_to"] = ["结束日期不能早于开始日期"]
    elif (valid_to - valid_from).days > 366:
        errors["valid_to"] = ["有效期最长一年"]
    if not 1 <= quota <= 100:
        errors["quota"] = ["每期次数应在 1 至 100 之间"]
    if not 1 <= period_days <= 90:
        errors["period_days"] = ["每期天数应在 1 至 90 之间"]
    employer = normalize.clean_text(employer or "")[:200]
    if kind == PassKind.WORK and not employer:
        errors["employer"] = ["上班通行证请填写单位及证明"]
    if resident is not None and resident.household_id != household.pk:
        errors["resident"] = ["持证人不属于该住户"]
    if errors:
        raise ValidationError(errors)
    p = Pass.objects.create(
        neighbourhood_id=household.neighbourhood_id,
        building_id=household.building_id,
        household=household,
        resident=resident,
        kind=kind,
        employer=employer,
        valid_from=valid_from,
        valid_to=valid_to,
        quota=quota,
        period_days=period_days,
        code=_pass_code(),
        created_by=_user(actor),
    )
    audit_record(
        actor=actor,
        action="gates.pass_issue",
        obj=p,
        changes={"household": household.pk, "kind": kind, "quota": quota, "period_days": period_days},
    )
    return p


@transaction.atomic
def pass_revoke(*, actor, pass_: Pass) -> Pass:
    if pass_.revoked_at is None:
        pass_.revoked_at = timezone.now()
        pass_.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="gates.pass_revoke", obj=pass_)
    return pass_
