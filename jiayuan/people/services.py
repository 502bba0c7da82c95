"""Writes to the resident record. Every rule about residents lives here.

Services take the acting user first, keyword-only; they validate, write inside
``transaction.atomic``, and append an audit event. Views, API endpoints, the importer and the
demo all come through here (the importer uses ``resident_apply_identity`` and its own bulk
writes for speed, with the same validation).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from jiayuan.core import crypto
from jiayuan.core.audit import audit_record
from jiayuan.core.masking import mask_id_number, mask_phone
from jiayuan.people import normalize
from jiayuan.people.choices import Gender, IdType, Presence, Relation, Residency, Tag
from jiayuan.people.models import Resident, ResidentTag
from jiayuan.places.models import Household

__all__ = [
    "REVEALABLE_FIELDS",
    "resident_apply_identity",
    "resident_create",
    "resident_delete",
    "resident_reveal",
    "resident_save_at_address",
    "resident_set_tags",
    "resident_update",
]

REVEALABLE_FIELDS = ("id_number", "phone")
MSG_DUPLICATE_ID = "该证件号码已在本居民区登记"
MSG_HOUSEHOLD_OTHER_NEIGHBOURHOOD = "住户不属于该居民区"


def resident_apply_identity(resident: Resident, *, id_type: str, id_number: str, phone: str) -> None:
    """Validate and set ID number and phone with their keyed hashes (no save).

    For mainland IDs the birth date and gender are taken from the number when not already set,
    and a conflict between them is an error.
    """
    errors: dict[str, list[str]] = {}
    id_type = id_type or IdType.MAINLAND
    number = ""
    if id_number:
        try:
            number, birth, gender = normalize.parse_id(id_type, id_number)
        except ValidationError as exc:
            errors["id_number"] = exc.messages
        else:
            if birth is not None:
                if resident.birth_date and resident.birth_date != birth:
                    errors["birth_date"] = ["出生日期与身份证号不符"]
                resident.birth_date = birth
            if gender is not None:
                if resident.gender not in ("", Gender.UNKNOWN, gender):
                    errors["gender"] = ["性别与身份证号不符"]
                resident.gender = gender
    clean_phone = ""
    if phone:
        try:
            clean_phone = normalize.normalize_phone(phone)
        except ValidationError as exc:
            errors["phone"] = exc.messages
    if errors:
        raise ValidationError(errors)
    resident.id_type = id_type
    resident.id_number = number
    resident.id_number_hash = crypto.keyed_hash(number)
    resident.phone = clean_phone
    resident.phone_hash = crypto.keyed_hash(clean_phone)
    resident.phone_last4 = clean_phone[-4:] if clean_phone else ""


def _clean_name(name: str) -> str:
    try:
        return normalize.parse_name(name)
    except ValidationError as exc:
        raise ValidationError({"name": exc.messages}) from exc


def _check_unique_id(resident: Resident) -> None:
    if not resident.id_number_hash:
        return
    clash = Resident.objects.filter(
        neighbourhood_id=resident.neighbourhood_id, id_number_hash=resident.id_number_hash
    ).exclude(pk=resident.pk)
    if clash.exists():
        raise ValidationError({"id_number": [MSG_DUPLICATE_ID]})


def _validate_tags(tags: list[str] | None) -> list[str] | None:
    if tags is None:
        return None
    unknown = [t for t in tags if t not in Tag.values]
    if unknown:
        raise ValidationError({"tags": [f"未知标签:{', '.join(unknown)}"]})
    return sorted(set(tags))


def resident_set_tags(*, resident: Resident, tags: list[str]) -> None:
    """Replace the resident's tags (inside the caller's transaction)."""
    ResidentTag.objects.filter(resident=resident).exclude(tag__in=tags).delete()
    have = set(ResidentTag.objects.filter(resident=resident).values_list("tag", flat=True))
    ResidentTag.objects.bulk_create([ResidentTag(resident=resident, tag=t) for t in tags if t not in have])
    resident._prefetched_objects_cache = {}


def _save(resident: Resident) -> None:
    resident.full_clean(exclude=["id_number_hash", "phone_hash", "phone_last4"], validate_constraints=False)
    _check_unique_id(resident)
    try:
        with transaction.atomic():
            resident.save()
    except IntegrityError as exc:  # a concurrent insert of the same ID number won the race
        raise ValidationError({"id_number": [MSG_DUPLICATE_ID]}) from exc


@transaction.atomic
def resident_create(
    *,
    actor,
    neighbourhood_id: int,
    household: Household | None,
    name: str,
    gender: str = Gender.UNKNOWN,
    birth_date: dt.date | None = None,
    id_type: str = IdType.MAINLAND,
    id_number: str = "",
    phone: str = "",
    relation_to_head: str = Relation.OTHER,
    residency: str = Residency.OWNER,
    presence: str = Presence.PRESENT,
    tags: list[str] | None = None,
    notes: str = "",
) -> Resident:
    """Register a resident. ``household`` must belong to ``neighbourhood_id``."""
    if household is not None and household.neighbourhood_id != neighbourhood_id:
        raise ValidationError({"household": [MSG_HOUSEHOLD_OTHER_NEIGHBOURHOOD]})
    resident = Resident(
        neighbourhood_id=neighbourhood_id,
        household=household,
        name=_clean_name(name),
        gender=gender or Gender.UNKNOWN,
        birth_date=birth_date,
        relation_to_head=relation_to_head,
        residency=residency,
        presence=presence,
        notes=notes,
    )
    clean_tags = _validate_tags(tags) or []
    resident_apply_identity(resident, id_type=id_type, id_number=id_number, phone=phone)
    _save(resident)
    resident_set_tags(resident=resident, tags=clean_tags)
    audit_record(
        actor=actor,
        action="resident.create",
        obj=resident,
        changes={"household": household.pk if household else None, "tags": clean_tags},
    )
    return resident


_PLAIN_FIELDS = ("name", "gender", "birth_date", "relation_to_head", "residency", "presence", "notes")


@transaction.atomic
def resident_update(*, actor, resident: Resident, **changes: Any) -> Resident:
    """Change a resident. Accepts the fields of ``resident_create`` (except the neighbourhood).

    The audit event lists which fields changed; ID number and phone appear masked.
    """
    unknown = set(changes) - {*_PLAIN_FIELDS, "household", "id_type", "id_number", "phone", "tags"}
    if unknown:
        raise TypeError(f"resident_update got unexpected fields: {sorted(unknown)}")
    before = {f: getattr(resident, f) for f in (*_PLAIN_FIELDS, "household_id", "id_type")}
    before_id, before_phone, before_tags = resident.id_number, resident.phone, resident.tags

    if "household" in changes:
        household = changes.pop("household")
        if household is not None and household.neighbourhood_id != resident.neighbourhood_id:
            raise ValidationError({"household": [MSG_HOUSEHOLD_OTHER_NEIGHBOURHOOD]})
        resident.household = household
    if "name" in changes:
        changes["name"] = _clean_name(changes["name"])
    for field in _PLAIN_FIELDS:
        if field in changes:
            setattr(resident, field, changes[field])
    if {"id_type", "id_number", "phone"} & set(changes):
        resident_apply_identity(
            resident,
            id_type=changes.get("id_type", resident.id_type),
            id_number=changes.get("id_number", resident.id_number),
            phone=changes.get("phone", resident.phone),
        )
    new_tags = _validate_tags(changes.get("tags"))
    _save(resident)

    diff: dict[str, Any] = {}
    for field, old in before.items():
        new = getattr(resident, field)
        if old != new:
            diff[field] = [str(old) if old is not None else None, str(new) if new is not None else None]
    if resident.id_number != before_id:
        diff["id_number"] = [mask_id_number(before_id), mask_id_number(resident.id_number)]
    if resident.phone != before_phone:
        diff["phone"] = [mask_phone(before_phone), mask_phone(resident.phone)]
    if new_tags is not None and new_tags != before_tags:
        resident_set_tags(resident=resident, tags=new_tags)
        diff["tags"] = [before_tags, new_tags]
    if diff:
        audit_record(actor=actor, action="resident.update", obj=resident, changes=diff)
    return resident


@transaction.atomic
def resident_reveal(*, actor, resident: Resident, field: str) -> str:
    """Return the full ID number or phone and record who saw it.

    The caller has already checked the ``reveal_pii`` permission through the user's scope.
    """
    if field not in REVEALABLE_FIELDS:
        raise ValidationError({"field": ["只能查看证件号码或电话"]})
    audit_record(actor=actor, action="resident.reveal", obj=resident, changes={"field": field})
    return getattr(resident, field)


@transaction.atomic
def resident_delete(*, actor, resident: Resident, reason: str) -> None:
    """Remove a resident registered by mistake (a duplicate, a wrong person).

    Someone who moved away is not deleted: set their presence to 迁出 instead, so the history
    of tests, quarantines and deliveries that will refer to them stays intact.
    """
    reason = normalize.clean_text(reason)
    if not reason:
        raise ValidationError({"reason": ["请填写删除原因"]})
    audit_record(
        actor=actor,
        action="resident.delete",
        obj=resident,
        changes={"reason": reason[:200], "household": resident.household_id},
    )
    resident.delete()


@transaction.atomic
def resident_save_at_address(
    *, actor, resident: Resident | None, building, unit: str, room: str, **fields: Any
) -> Resident:
    """Create (``resident=None``) or update a resident living at ``building``/``unit``/``room``,
    registering the household if the room is new. What the resident form submits."""
    from jiayuan.places.services import household_get_or_create

    household = household_get_or_create(actor=actor, building=building, unit=unit, room=room)
    if resident is None:
        return resident_create(actor=actor, neighbourhood_id=household.neighbourhood_id, household=household, **fields)
    return resident_update(actor=actor, resident=resident, household=household, **fields)
