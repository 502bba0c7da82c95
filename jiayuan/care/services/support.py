"""The psychological support group: who may read and handle its confidential requests."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from jiayuan.accounts.models import Assignment, User
from jiayuan.care.choices import (
    GroupRole,
)
from jiayuan.care.models import (
    CareRequest,
    SupportGroup,
    SupportMember,
)
from jiayuan.core.audit import audit_record
from jiayuan.core.permissions import Action, Role
from jiayuan.core.scoping import can

# Psychological support -------------------------------------------------------------------------


def support_members(neighbourhood_id: int) -> set[int]:
    return set(SupportMember.objects.filter(group__neighbourhood_id=neighbourhood_id).values_list("user_id", flat=True))


def is_committee_head_of(user, neighbourhood_id: int) -> bool:
    from jiayuan.places.models import Neighbourhood

    street_id = Neighbourhood.objects.filter(pk=neighbourhood_id).values_list("street_id", flat=True).first()
    return Assignment.objects.filter(
        Q(level="neighbourhood", neighbourhood_id=neighbourhood_id) | Q(level="street", street_id=street_id),
        user=user,
        role=Role.COMMITTEE_HEAD,
        active=True,
    ).exists()


def may_read_content(user, request: CareRequest) -> bool:
    """Whether ``user`` may read what a request says: anyone who sees it, except for
    psychological support, which only the support group and the committee head read."""
    if not request.is_psychological:
        return True
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    cache = user.__dict__.setdefault("_care_confidential", {})
    if request.neighbourhood_id not in cache:
        cache[request.neighbourhood_id] = bool(
            user.is_superuser
            or user.pk in support_members(request.neighbourhood_id)
            or is_committee_head_of(user, request.neighbourhood_id)
        )
    return cache[request.neighbourhood_id]


def may_handle(user, request: CareRequest) -> bool:
    """Whether ``user`` may handle ``request``: through their scope, except psychological support,
    which the support group (wherever its members work) and the committee head handle."""
    if request.is_psychological:
        return may_read_content(user, request)
    return can(user, Action.HANDLE_REQUESTS, request)


@transaction.atomic
def support_member_add(*, actor, neighbourhood_id: int, user: User, role: str) -> SupportMember:
    if role not in GroupRole.values:
        raise ValidationError({"role": [_("请选择身份")]})
    group, _c = SupportGroup.objects.get_or_create(neighbourhood_id=neighbourhood_id)
    member, _c = SupportMember.objects.update_or_create(group=group, user=user, defaults={"role": role})
    audit_record(
        actor=actor,
        action="care.support_member_add",
        obj=group,
        object_repr=f"{group} · {user}",
        neighbourhood_id=neighbourhood_id,
        changes={"role": role},
    )
    return member


@transaction.atomic
def support_member_remove(*, actor, member: SupportMember) -> None:
    group = member.group
    audit_record(
        actor=actor,
        action="care.support_member_remove",
        obj=group,
        object_repr=f"{group} · {member.user}",
        neighbourhood_id=group.neighbourhood_id,
    )
    member.delete()
