"""The team: the committee adds its own staff and volunteers, grants and revokes their roles,
resets passwords; one's own password."""

from __future__ import annotations

import re
import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from jiayuan.accounts import throttle
from jiayuan.accounts.models import ApiToken, Assignment, User
from jiayuan.accounts.selectors import team_assignments, team_neighbourhood_ids
from jiayuan.accounts.services.tokens import _LEVEL_OF, assignment_grant
from jiayuan.core.audit import audit_record
from jiayuan.core.permissions import Role
from jiayuan.places.models import Building, Compound, Neighbourhood

# --- Team: the committee adds its own staff and volunteers ----------------------------------------

# Roles a team manager (the committee head) may hand out within their neighbourhood. Heads and
# street officers are appointed by the street (the operator), not by a head.
GRANTABLE_ROLES = [r for r in Role.values if r not in (Role.COMMITTEE_HEAD, Role.STREET_OFFICER)]
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,30}$")
# No 0/O, 1/l/I: read aloud over the phone or copied from a WeChat message without mistakes.
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105 - an alphabet


def _temporary_password() -> str:
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(10))


def _check_grant(actor, role: str, scope) -> str:
    """The scope's level, after checking the actor may hand out ``role`` over ``scope``: a role
    below head, over a place in a neighbourhood whose team the actor manages."""
    errors: dict[str, list[str]] = {}
    if role not in GRANTABLE_ROLES:
        errors["role"] = ["不能授予这个角色(书记/主任和街道工作人员由街道设置)"]
    level = _LEVEL_OF.get(type(scope))
    nb_id = scope.pk if level == "neighbourhood" else getattr(scope, "neighbourhood_id", None)
    managed = team_neighbourhood_ids(actor)
    if level not in ("neighbourhood", "compound", "building") or not (managed is None or nb_id in managed):
        errors["scope"] = ["授权范围不存在或不在您的管理范围"]
    if errors:
        raise ValidationError(errors)
    return level


def _not_self(actor, user: User) -> None:
    if user.pk == getattr(actor, "pk", None):
        raise ValidationError({"user": ["不能修改自己的授权或密码, 请联系街道或系统管理员"]})


def _in_team_or_404(actor, assignment_ids) -> list[Assignment]:
    # Found through the team (outer joins to the place), then locked by id alone: PostgreSQL
    # cannot lock the nullable side of an outer join.
    found = list(team_assignments(actor).filter(pk__in=assignment_ids).values_list("pk", flat=True))
    if len(found) != len(set(assignment_ids)):
        raise Http404
    return list(Assignment.objects.select_for_update().filter(pk__in=found).order_by("pk"))


@transaction.atomic
def team_member_create(
    *, actor, username: str, display_name: str, role: str, scope: Neighbourhood | Compound | Building
) -> tuple[User, str]:
    """Add a staff member or volunteer with one role; returns the user and a temporary password,
    shown once to the person who added them and never stored in clear."""
    username = (username or "").strip()
    display_name = (display_name or "").strip()
    errors: dict[str, list[str]] = {}
    if not USERNAME_RE.match(username):
        errors["username"] = ["用户名用 3–30 个英文字母、数字或 _ . -, 如 zhang.san 或 13912345678"]
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = ["这个用户名已有人用, 请换一个"]
    if not display_name:
        errors["display_name"] = ["请填写姓名"]
    elif len(display_name) > 64:
        errors["display_name"] = ["姓名最多 64 个字"]
    try:
        _check_grant(actor, role, scope)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    password = _temporary_password()
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                username=username, password=password, display_name=display_name, must_change_password=True
            )
    except IntegrityError as exc:  # the same user name added at the same moment elsewhere
        raise ValidationError({"username": ["这个用户名已有人用, 请换一个"]}) from exc
    audit_record(
        actor=actor,
        action="user.create",
        obj=user,
        object_repr=username,
        neighbourhood_id=scope.pk if isinstance(scope, Neighbourhood) else scope.neighbourhood_id,
    )
    assignment_grant(actor=actor, user=user, role=role, scope=scope)
    return user, password


@transaction.atomic
def team_grant(*, actor, user: User, role: str, scope: Neighbourhood | Compound | Building) -> Assignment:
    """Give a team member another role (or the same role over another place); not oneself."""
    _not_self(actor, user)
    _check_grant(actor, role, scope)
    return assignment_grant(actor=actor, user=user, role=role, scope=scope)


@transaction.atomic
def team_revoke(*, actor, assignment: Assignment) -> Assignment:
    """Take a role back (the row stays, inactive, for the record). The actor's team must hold it
    (else 404), it is not the actor's own, and a role a head may not grant, a head may not revoke."""
    (assignment,) = _in_team_or_404(actor, [assignment.pk])
    _not_self(actor, assignment.user)
    if assignment.role not in GRANTABLE_ROLES:
        raise ValidationError({"role": ["不能收回这个角色"]})
    if not assignment.active:
        return assignment
    assignment.active = False
    assignment.save(update_fields=["active"])
    audit_record(
        actor=actor,
        action="assignment.revoke",
        obj=assignment,
        object_repr=f"{assignment.user.username} {assignment.role} {assignment.level}:{assignment.target_id}",
        neighbourhood_id=_assignment_neighbourhood(assignment),
    )
    return assignment


def _assignment_neighbourhood(assignment: Assignment) -> int | None:
    if assignment.level == "neighbourhood":
        return assignment.neighbourhood_id
    if assignment.level in ("compound", "building"):
        return assignment.target.neighbourhood_id
    return None


def _wholly_in_team(actor, user: User, what: str) -> tuple[User, Assignment]:
    """``user`` locked, and one of their roles, when every role of theirs (active or not) is one
    the actor could grant over a place the actor manages; else a ``ValidationError`` — so a head
    cannot take over a fellow head, a street officer, an operator, or someone who also serves
    another neighbourhood (a role reactivated there later must not find the account in other hands)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    all_roles = list(user.assignments.values_list("pk", "role"))
    in_team = set(team_assignments(actor).filter(user=user).values_list("pk", flat=True))
    if (
        user.is_superuser
        or user.is_staff
        or user.pk == getattr(actor, "pk", None)
        or not all_roles
        or any(role not in GRANTABLE_ROLES or pk not in in_team for pk, role in all_roles)
    ):
        raise ValidationError({"user": [f"这个账号还在别处任职或权限更高, 请联系街道或系统管理员{what}"]})
    return user, Assignment.objects.get(pk=all_roles[0][0])


def _end_tokens(user: User) -> int:
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def _audit_member(actor, user: User, role: Assignment, action: str, **changes) -> None:
    audit_record(
        actor=actor,
        action=action,
        obj=user,
        object_repr=user.username,
        neighbourhood_id=_assignment_neighbourhood(role),
        changes=changes,
    )


@transaction.atomic
def team_member_deactivate(*, actor, user: User) -> User:
    """Close the account of someone who left the team: they cannot sign in, their sessions and
    API tokens end, their roles are kept (inactive) for the record. Same reach as a reset."""
    user, first = _wholly_in_team(actor, user, "停用账号")
    if not user.is_active:
        return user
    user.is_active = False
    user.save(update_fields=["is_active"])
    roles = user.assignments.filter(active=True).update(active=False)
    _audit_member(actor, user, first, "user.deactivate", roles_revoked=roles, api_tokens_revoked=_end_tokens(user))
    return user


@transaction.atomic
def team_password_reset(*, actor, user: User) -> str:
    """A new temporary password for a member who forgot theirs (their sessions end with it).

    Only for someone wholly inside the actor's team: every role of theirs (active or not) is one
    the actor could grant, over a place the actor manages — so a head cannot take over a fellow
    head, a street officer, an operator, or a volunteer who also serves another neighbourhood.
    Their API tokens are revoked with it."""
    user, first = _wholly_in_team(actor, user, "重置密码")
    password = _temporary_password()
    user.set_password(password)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    throttle.clear_account(user.username)  # a member locked out by wrong passwords can sign in again
    # A reset often means the account may be in other hands: its API tokens stop working too.
    _audit_member(actor, user, first, "user.password_reset", api_tokens_revoked=_end_tokens(user))
    return password


@transaction.atomic
def own_password_change(*, user: User, new_password: str) -> User:
    """A user sets their own password (the form has checked the old one and the validators);
    one chosen by someone else no longer has to be changed. Audited, the password never."""
    user.set_password(new_password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    audit_record(actor=user, action="user.password_change", obj=user, object_repr=user.username)
    return user
