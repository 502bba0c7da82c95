"""Parcels and takeaway: registered at the gate for a household, disinfected, then picked up with a
code or carried to the door (always to the door for a sealed building or a household under
quarantine)."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiayuan.control.selectors import household_go_out_decision
from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record
from jiayuan.gates.choices import (
    ParcelStatus,
)
from jiayuan.gates.models import Parcel
from jiayuan.gates.services.gates import GateConflict
from jiayuan.people import normalize
from jiayuan.places.models import Household

# --- Parcels -----------------------------------------------------------------------------------


def door_only(household) -> bool:
    """A parcel always goes to the door when the household may not come out for it (a sealed
    building, quarantine or home control: control's ``household_go_out_decision``)."""
    return household_go_out_decision(household) is not None


@transaction.atomic
def parcel_register(*, actor, household: Household, carrier: str = "", note: str = "") -> Parcel:
    """A parcel or takeaway arrived at the gate for ``household``; it waits for disinfection."""
    parcel = Parcel.objects.create(
        neighbourhood_id=household.neighbourhood_id,
        building_id=household.building_id,
        household=household,
        carrier=normalize.clean_text(carrier or "")[:50],
        note=normalize.clean_text(note or "")[:200],
        pickup_code=f"{secrets.randbelow(10**6):06d}",
        registered_by=_user(actor),
    )
    audit_record(actor=actor, action="gates.parcel_register", obj=parcel, changes={"household": household.pk})
    return parcel


def _locked(parcel: Parcel) -> Parcel:
    return Parcel.objects.select_for_update().select_related("household").get(pk=parcel.pk)


@transaction.atomic
def parcel_disinfect(*, actor, parcel: Parcel) -> Parcel:
    parcel = _locked(parcel)
    if parcel.status != ParcelStatus.ARRIVED:
        raise GateConflict(_("该快递已消杀"), code="already_disinfected")
    parcel.status = ParcelStatus.DISINFECTED
    parcel.disinfected_at = timezone.now()
    parcel.save(update_fields=["status", "disinfected_at"])
    audit_record(actor=actor, action="gates.parcel_disinfect", obj=parcel)
    return parcel


def _finish(actor, parcel: Parcel, status: str, action: str) -> Parcel:
    if parcel.status == ParcelStatus.ARRIVED:
        raise GateConflict(_("该快递还没有消杀, 请先消杀"), code="not_disinfected")
    if parcel.status != ParcelStatus.DISINFECTED:
        raise GateConflict(_("该快递已送达或已取走"), code="already_done")
    parcel.status = status
    parcel.done_at = timezone.now()
    parcel.done_by = _user(actor)
    parcel.save(update_fields=["status", "done_at", "done_by"])
    audit_record(actor=actor, action=action, obj=parcel)
    return parcel


@transaction.atomic
def parcel_deliver(*, actor, parcel: Parcel) -> Parcel:
    """Carried to the household's door (by a volunteer or the property staff)."""
    return _finish(actor, _locked(parcel), ParcelStatus.DELIVERED, "gates.parcel_deliver")


@transaction.atomic
def parcel_pickup(*, actor, parcel: Parcel, code: str) -> Parcel:
    """Collected at the gate with the pickup code, unless the household may not come out
    (sealed building, quarantine): then it goes to the door."""
    parcel = _locked(parcel)
    if (code or "").strip() != parcel.pickup_code:
        raise ValidationError({"code": ["取件码不对"]})
    if door_only(parcel.household):
        raise GateConflict(_("该户不能外出(封控或居家隔离), 快递只能送到门口"), code="door_only")
    return _finish(actor, parcel, ParcelStatus.PICKED_UP, "gates.parcel_pickup")
