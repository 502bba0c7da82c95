"""Writes to places: streets, neighbourhoods, compounds, buildings, households."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from jiayuan.core.audit import audit_record
from jiayuan.people import normalize
from jiayuan.places.models import Building, Compound, Household, Neighbourhood, Street

__all__ = [
    "building_create",
    "compound_create",
    "household_create",
    "household_get_or_create",
    "neighbourhood_create",
    "street_create",
]


@transaction.atomic
def street_create(*, actor, code: str, name: str) -> Street:
    street = Street(code=normalize.clean_text(code).upper(), name=normalize.clean_text(name))
    street.full_clean()
    street.save()
    audit_record(actor=actor, action="street.create", obj=street)
    return street


@transaction.atomic
def neighbourhood_create(*, actor, street: Street, code: str, name: str, is_demo: bool = False) -> Neighbourhood:
    nb = Neighbourhood(
        street=street, code=normalize.clean_text(code).upper(), name=normalize.clean_text(name), is_demo=is_demo
    )
    nb.full_clean()
    nb.save()
    audit_record(actor=actor, action="neighbourhood.create", obj=nb, neighbourhood_id=nb.pk)
    return nb


@transaction.atomic
def compound_create(*, actor, neighbourhood: Neighbourhood, name: str) -> Compound:
    compound = Compound(neighbourhood=neighbourhood, name=normalize.clean_text(name))
    compound.full_clean()
    compound.save()
    audit_record(actor=actor, action="compound.create", obj=compound)
    return compound


def building_name(number: str) -> str:
    return f"{number}号楼"


@transaction.atomic
def building_create(
    *, actor, compound: Compound, number: str, name: str = "", units: int = 1, floors: int | None = None
) -> Building:
    number = normalize.parse_building_number(number)
    building = Building(
        neighbourhood_id=compound.neighbourhood_id,
        compound=compound,
        number=number,
        name=normalize.clean_text(name) or building_name(number),
        units=units,
        floors=floors,
        sort_key=normalize.natural_key(number),
    )
    building.full_clean()
    building.save()
    audit_record(actor=actor, action="building.create", obj=building)
    return building


@transaction.atomic
def household_create(*, actor, building: Building, room: str, unit: str = "", notes: str = "") -> Household:
    try:
        room = normalize.parse_room(room)
        unit = normalize.parse_unit(unit)
    except ValidationError as exc:
        raise ValidationError({"room": exc.messages}) from exc
    household = Household(
        neighbourhood_id=building.neighbourhood_id,
        building=building,
        unit=unit,
        room=room,
        floor=normalize.floor_of_room(room),
        notes=notes,
    )
    household.full_clean()
    household.save()
    audit_record(actor=actor, action="household.create", obj=household)
    return household


def household_get_or_create(*, actor, building: Building, unit: str, room: str) -> Household:
    """The household at ``unit``/``room`` of ``building``, registering it if it is new."""
    unit_clean, room_clean = normalize.parse_unit(unit), normalize.parse_room(room)
    existing = Household.objects.filter(building=building, unit=unit_clean, room=room_clean).first()
    return existing or household_create(actor=actor, building=building, unit=unit_clean, room=room_clean)
