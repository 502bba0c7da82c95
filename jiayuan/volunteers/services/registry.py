"""The volunteer registry: volunteers registered, linked to accounts, their status and health checks for duty."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiayuan.core import crypto
from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record
from jiayuan.core.masking import mask_phone
from jiayuan.people import normalize
from jiayuan.volunteers.choices import Skill
from jiayuan.volunteers.models import ShiftAssignment, Volunteer
from jiayuan.volunteers.services._shared import AS, TRANSITIONS, V

# --- Registry ------------------------------------------------------------------------------------


def _clean_skills(skills) -> list[str]:
    skills = list(dict.fromkeys(skills or []))
    bad = [s for s in skills if s not in Skill.values]
    if bad:
        raise ValidationError({"skills": [_("不是可选的技能: %(bad)s") % {"bad": ", ".join(map(str, bad))}]})
    return skills


def _set_phone(volunteer: Volunteer, phone: str) -> None:
    clean = ""
    if phone:
        try:
            clean = normalize.normalize_phone(phone)
        except ValidationError as exc:
            raise ValidationError({"phone": exc.messages}) from exc
    volunteer.phone = clean
    volunteer.phone_hash = crypto.keyed_hash(clean)
    volunteer.phone_last4 = clean[-4:] if clean else ""


@transaction.atomic
def volunteer_create(
    *,
    actor,
    neighbourhood,
    resident=None,
    name: str = "",
    phone: str = "",
    skills=None,
    availability: str = "",
    party_member: bool = False,
    dual_registration_org: str = "",
    dual_registration_date: dt.date | None = None,
    commitment_signed: bool = False,
    note: str = "",
    status: str = V.ACTIVE,
) -> Volunteer:
    """Register a volunteer: a resident of the neighbourhood, or an outsider by name and phone.
    Staff add volunteers ``active``; a household's application comes in ``applied``."""
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if resident is not None:
        if resident.neighbourhood_id != neighbourhood.pk:
            errors["resident"] = [_("该居民不属于本居民区")]
        elif Volunteer.objects.filter(neighbourhood=neighbourhood, resident=resident).exists():
            errors["resident"] = [_("该居民已登记为志愿者")]
        name = resident.name
    elif not name:
        errors["name"] = [_("请填写姓名(或选择居民)")]
    elif not phone:
        errors["phone"] = [_("社区外志愿者请填写联系电话")]
    if len(name) > 64:
        errors["name"] = [_("姓名过长")]
    if status not in V.values:
        errors["status"] = [_("不是可选的状态")]
    try:
        skills = _clean_skills(skills)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    volunteer = Volunteer(
        neighbourhood=neighbourhood,
        resident=resident,
        building_id=resident.household.building_id if resident is not None and resident.household_id else None,
        name=name,
        skills=skills,
        availability=(availability or "").strip()[:200],
        party_member=bool(party_member),
        dual_registration_org=(dual_registration_org or "").strip()[:200],
        dual_registration_date=dual_registration_date,
        commitment_signed_at=timezone.now() if commitment_signed else None,
        note=(note or "").strip(),
        status=status,
        created_by=_user(actor),
    )
    try:
        _set_phone(volunteer, "" if resident is not None else phone)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    if status in (V.APPROVED, V.ACTIVE):
        volunteer.reviewed_by = _user(actor)
        volunteer.reviewed_at = timezone.now()
    try:
        with transaction.atomic():
            volunteer.save()
    except IntegrityError as exc:
        raise ValidationError({"resident": [_("该居民已登记为志愿者")]}) from exc
    action = "volunteer.apply" if status == V.APPLIED else "volunteer.create"
    audit_record(
        actor=actor,
        action=action,
        obj=volunteer,
        changes={"status": status, "outsider": resident is None, "skills": skills},
    )
    return volunteer


@transaction.atomic
def volunteer_update(*, actor, volunteer: Volunteer, **changes) -> Volunteer:
    """Change the plain fields (skills, availability, party membership, 双报到, note, phone)."""
    allowed = {
        "skills",
        "availability",
        "party_member",
        "dual_registration_org",
        "dual_registration_date",
        "note",
        "phone",
        "commitment_signed",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({"__all__": [_("不能修改: %(f)s") % {"f": ", ".join(sorted(unknown))}]})
    diff = {}
    if "skills" in changes:
        changes["skills"] = _clean_skills(changes["skills"])
    if "phone" in changes:
        if volunteer.resident_id:
            changes.pop("phone")
        else:
            before = volunteer.phone
            _set_phone(volunteer, changes.pop("phone"))
            if before != volunteer.phone:
                diff["phone"] = [mask_phone(before), mask_phone(volunteer.phone)]
    if "commitment_signed" in changes:
        signed = bool(changes.pop("commitment_signed"))
        if signed and not volunteer.commitment_signed_at:
            volunteer.commitment_signed_at = timezone.now()
            diff["commitment_signed"] = [False, True]
        elif not signed and volunteer.commitment_signed_at:
            volunteer.commitment_signed_at = None
            diff["commitment_signed"] = [True, False]
    for field, value in changes.items():
        if isinstance(value, str):
            value = value.strip()
        before = getattr(volunteer, field)
        if before != value:
            diff[field] = [str(before), str(value)]
            setattr(volunteer, field, value)
    volunteer.full_clean(exclude=["phone_hash", "phone_last4", "resident", "user"], validate_constraints=False)
    volunteer.save()
    if diff:
        audit_record(actor=actor, action="volunteer.update", obj=volunteer, changes=diff)
    return volunteer


@transaction.atomic
def volunteer_set_status(*, actor, volunteer: Volunteer, status: str, reason: str = "") -> Volunteer:
    volunteer = Volunteer.objects.select_for_update().get(pk=volunteer.pk)
    if status not in TRANSITIONS.get(volunteer.status, ()):
        raise ValidationError(
            {
                "status": [
                    _("不能从“%(a)s”改为“%(b)s”")
                    % {"a": V(volunteer.status).label, "b": V(status).label if status in V.values else status}
                ]
            }
        )
    before = volunteer.status
    volunteer.status = status
    if status in (V.APPROVED, V.ACTIVE) and volunteer.reviewed_at is None:
        volunteer.reviewed_by = _user(actor)
        volunteer.reviewed_at = timezone.now()
    volunteer.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    if status in (V.PAUSED, V.LEFT):
        # Future places are freed for others; done and running shifts stay on the record.
        ShiftAssignment.objects.filter(
            volunteer=volunteer, status=AS.ASSIGNED, shift__starts_at__gt=timezone.now()
        ).update(status=AS.CANCELLED)
    audit_record(
        actor=actor,
        action="volunteer.status",
        obj=volunteer,
        changes={"status": [before, status], "reason": (reason or "").strip()[:200]},
    )
    return volunteer


@transaction.atomic
def volunteer_link_user(*, actor, volunteer: Volunteer, user) -> Volunteer:
    """Link (or unlink, ``user=None``) the login a volunteer uses for "my shifts"."""
    if user is not None and Volunteer.objects.filter(user=user).exclude(pk=volunteer.pk).exists():
        raise ValidationError({"user": [_("该账号已关联其他志愿者")]})
    before = volunteer.user_id
    volunteer.user = user
    volunteer.save(update_fields=["user"])
    audit_record(
        actor=actor, action="volunteer.link_user", obj=volunteer, changes={"user": [before, user.pk if user else None]}
    )
    return volunteer


def volunteer_reveal_phone(*, actor, volunteer: Volunteer) -> str:
    """The full phone number (the resident's for a resident volunteer); the read is audited."""
    phone = volunteer.resident.phone if volunteer.resident_id else volunteer.phone
    audit_record(actor=actor, action="volunteer.reveal", obj=volunteer, changes={"field": "phone"})
    return phone
