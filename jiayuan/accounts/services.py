"""Writes for accounts: role assignments, API tokens, household access links."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from jiayuan.accounts import throttle
from jiayuan.accounts.models import ApiToken, Assignment, HouseholdLink, User
from jiayuan.accounts.selectors import team_assignments, team_neighbourhood_ids
from jiayuan.core import rawsql
from jiayuan.core.actors import acting_user
from jiayuan.core.audit import audit_record
from jiayuan.core.permissions import Role
from jiayuan.places.models import Building, Compound, Household, Neighbourhood, Street

__all__ = [
    "api_token_authenticate",
    "api_token_create",
    "assignment_grant",
    "household_link_issue",
    "household_link_print",
    "household_link_resolve",
    "household_link_revoke",
    "household_link_token",
    "otp_backup_codes_regenerate",
    "otp_enrol_confirm",
    "otp_enrol_start",
    "otp_remove",
    "otp_verify",
    "own_password_change",
    "team_grant",
    "team_member_create",
    "team_member_deactivate",
    "team_otp_reset",
    "team_password_reset",
    "team_revoke",
]

_LEVEL_OF = {Street: "street", Neighbourhood: "neighbourhood", Compound: "compound", Building: "building"}
LINK_SALT = "jiayuan.household-link"


@transaction.atomic
def assignment_grant(
    *, actor, user: User, role: str, scope: Street | Neighbourhood | Compound | Building
) -> Assignment:
    """Grant ``role`` over ``scope``. Granting it again returns the existing row (reactivated if it was not)."""
    if role not in Role.values:
        raise ValidationError({"role": ["未知角色"]})
    level = _LEVEL_OF.get(type(scope))
    if level is None:
        raise ValidationError({"scope": ["授权范围必须是街道、居民区、小区或楼栋"]})
    neighbourhood_id = None if level == "street" else (scope.pk if level == "neighbourhood" else scope.neighbourhood_id)
    assignment, created = Assignment.objects.get_or_create(
        user=user,
        role=role,
        level=level,
        **{level: scope},
        defaults={"neighbourhood_id": neighbourhood_id} if level in ("compound", "building") else {},
    )
    if not created and not assignment.active:
        assignment.active = True
        assignment.save(update_fields=["active"])
        created = True  # audited as a grant below
    if created:
        audit_record(
            actor=actor,
            action="assignment.grant",
            obj=assignment,
            object_repr=f"{user.username} {role} {level}:{scope.pk}",
            neighbourhood_id=neighbourhood_id,
        )
    return assignment


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, actor, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token; return it and the key, which is shown once and never stored."""
    key = "jy_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=key[:10], key_hash=_hash_key(key))
    audit_record(actor=actor, action="api_token.create", obj=token, object_repr=f"{user.username} {token.prefix}…")
    return token, key


def api_token_authenticate(key: str) -> User | None:
    """The active user behind a live token, or None.

    One query (the API's hot path: a scanner posts every second): the token, its user and the
    user's active assignments come back together (one row per assignment, LEFT JOIN), and the
    assignments are primed on the user so ``core.scoping`` asks nothing more for this request.
    Always read fresh, so a revoked token or a removed assignment takes effect at once.
    """
    if not key or not key.startswith("jy_"):
        return None
    from django.db import connections, router

    conn = connections[router.db_for_read(ApiToken)]
    sql, _n = api_token_statement(conn)
    with rawsql.hot_cursor(conn) as cur:
        cur.execute(sql, [api_token_hash(key)])
        rows = cur.fetchall()
    return api_token_user(conn, rows)


def api_token_hash(key: str) -> str:
    """What the token table keeps of a key (its SHA-256): the parameter of ``api_token_statement``."""
    return _hash_key(key)


@functools.cache
def _token_fields() -> tuple[list, list, list]:
    return (
        [ApiToken._meta.get_field("id"), ApiToken._meta.get_field("last_used_at")],
        list(User._meta.concrete_fields),
        list(Assignment._meta.concrete_fields),
    )


_TOKEN_SQL: dict[tuple, tuple[str, int]] = {}


def api_token_statement(conn, *, select: str = "", joins: str = "") -> tuple[str, int]:
    """The token read as one statement, for ``api_token_authenticate`` and for a hot path that
    reads its own rows in the same round trip (the gate's scan): ``SELECT <token, user,
    assignment columns>[, select] FROM token JOIN user LEFT JOIN assignment [joins] WHERE`` the
    key's hash (the last parameter: ``api_token_hash``) names a live token of an active user.
    One row per active assignment (one with NULLs when none). Returns the SQL and the number of
    columns before ``select``; ``api_token_user`` turns the rows into the user."""
    key = (conn.alias, select, joins)
    cached = _TOKEN_SQL.get(key)
    if cached is not None:
        return cached
    qn = conn.ops.quote_name
    token_fields, user_fields, a_fields = _token_fields()
    cols = ", ".join(
        [
            rawsql.columns(token_fields, "t", conn),
            rawsql.columns(user_fields, "u", conn),
            rawsql.columns(a_fields, "a", conn),
        ]
    )
    sql = (
        f"SELECT {cols}{', ' + select if select else ''} "  # noqa: S608 - names from the models
        f"FROM {qn(ApiToken._meta.db_table)} t "
        f"JOIN {qn(User._meta.db_table)} u ON u.{qn('id')} = t.{qn('user_id')} "
        f"LEFT JOIN {qn(Assignment._meta.db_table)} a ON a.{qn('user_id')} = u.{qn('id')} AND a.{qn('active')} "
        f"{joins} "
        f"WHERE t.{qn('key_hash')} = %s AND t.{qn('revoked_at')} IS NULL AND u.{qn('is_active')} "
        f"ORDER BY a.{qn('user_id')}, a.{qn('role')}, a.{qn('id')}"
    )
    _TOKEN_SQL[key] = (sql, len(token_fields) + len(user_fields) + len(a_fields))
    return _TOKEN_SQL[key]


def api_token_user(conn, rows) -> User | None:
    """The user of ``api_token_statement``'s rows (None when there are none: no such live token),
    with their active assignments primed for ``core.scoping``; the token's use is recorded at most
    once a minute (a scanner posting every second should not write every time)."""
    if not rows:
        return None
    token_fields, user_fields, a_fields = _token_fields()
    nt, nu, na = len(token_fields), len(user_fields), len(a_fields)
    # Values as the ORM would give them (SQLite datetimes, booleans): the backend's converters.
    rows = rawsql.convert_rows(conn, token_fields + user_fields + a_fields, [r[: nt + nu + na] for r in rows])
    first = rows[0]
    token_id, last_used_at = first[0], first[1]
    user = rawsql.instance(User, conn, user_fields, first[nt : nt + nu])
    assignments = []
    for row in rows:
        values = row[nt + nu : nt + nu + na]
        if values[0] is None:  # the LEFT JOIN found no active assignment
            continue
        assignments.append(rawsql.instance(Assignment, conn, a_fields, values))
    user.__dict__["_jiayuan_assignments"] = assignments
    now = timezone.now()
    if last_used_at is None or (now - last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return user


def household_link_token(link: HouseholdLink) -> str:
    return signing.dumps({"l": link.pk, "n": link.nonce}, salt=LINK_SALT, compress=True)


@transaction.atomic
def household_link_issue(*, actor, household: Household) -> HouseholdLink:
    """Issue a new link for ``household``, revoking the live one if any (a lost card, a new tenant)."""
    live = HouseholdLink.objects.select_for_update().filter(household=household, revoked_at__isnull=True)
    for old in live:
        _revoke(actor=actor, link=old)
    link = HouseholdLink.objects.create(
        household=household,
        neighbourhood_id=household.neighbourhood_id,
        nonce=secrets.token_urlsafe(16),
        created_by=acting_user(actor),
    )
    audit_record(actor=actor, action="household_link.issue", obj=link, object_repr=str(household))
    return link


def _revoke(*, actor, link: HouseholdLink) -> None:
    link.revoked_at = timezone.now()
    link.revoked_by = acting_user(actor)
    link.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(actor=actor, action="household_link.revoke", obj=link, object_repr=str(link.household))


@transaction.atomic
def household_link_revoke(*, actor, link: HouseholdLink) -> HouseholdLink:
    if link.revoked_at is not None:
        raise ValidationError("该链接已经吊销")
    _revoke(actor=actor, link=link)
    return link


@transaction.atomic
def household_link_print(*, actor, household: Household) -> str:
    """The live link's token for printing as a QR code; printing hands out a credential, so it
    is audited. Raises ``HouseholdLink.DoesNotExist`` when the household has no live link."""
    link = HouseholdLink.objects.get(household=household, revoked_at__isnull=True)
    audit_record(actor=actor, action="household_link.print", obj=link, object_repr=str(household))
    return household_link_token(link)


_LINK_PARTS = [
    (HouseholdLink, "l"),
    (Household, "h"),
    (Building, "b"),
    (Compound, "c"),
    (Neighbourhood, "n"),
]
_LINK_SQL: dict[str, tuple[list, list, str]] = {}


def _live_link_sql(conn) -> tuple[list, list, str]:
    """``_live_link``'s fields (per model and in one list) and statement, built once per alias."""
    cached = _LINK_SQL.get(conn.alias)
    if cached is not None:
        return cached
    qn = conn.ops.quote_name
    fields = [list(model._meta.concrete_fields) for model, _alias in _LINK_PARTS]
    cols = ", ".join(rawsql.columns(f, alias, conn) for f, (_m, alias) in zip(fields, _LINK_PARTS, strict=True))
    sql = (
        f"SELECT {cols} FROM {qn(HouseholdLink._meta.db_table)} l "  # noqa: S608 - names from the models
        f"JOIN {qn(Household._meta.db_table)} h ON h.{qn('id')} = l.{qn('household_id')} "
        f"JOIN {qn(Building._meta.db_table)} b ON b.{qn('id')} = h.{qn('building_id')} "
        f"JOIN {qn(Compound._meta.db_table)} c ON c.{qn('id')} = b.{qn('compound_id')} "
        f"JOIN {qn(Neighbourhood._meta.db_table)} n ON n.{qn('id')} = l.{qn('neighbourhood_id')} "
        f"WHERE l.{qn('id')} = %s AND l.{qn('revoked_at')} IS NULL"
    )
    _LINK_SQL[conn.alias] = (fields, [f for group in fields for f in group], sql)
    return _LINK_SQL[conn.alias]


def _live_link(link_id: int) -> HouseholdLink | None:
    """The unrevoked link with its household, building, compound and neighbourhood, as
    ``select_related("household__building__compound", "neighbourhood")`` gives them, in one
    hand-written query: every household-link request (an order, an antigen report) starts here,
    and compiling that four-join query through the ORM cost more CPU than the rest of an order
    (ADR 0019; same technique as ``api_token_authenticate``, ADR 0007)."""
    from django.db import connections, router

    conn = connections[router.db_for_read(HouseholdLink)]
    parts = _LINK_PARTS
    fields, flat, sql = _live_link_sql(conn)
    with rawsql.hot_cursor(conn) as cur:
        cur.execute(sql, [link_id])
        rows = cur.fetchall()
    if not rows:
        return None
    (row,) = rawsql.convert_rows(conn, flat, rows)
    objs, start = [], 0
    for (model, _alias), group in zip(parts, fields, strict=True):
        objs.append(rawsql.instance(model, conn, group, row[start : start + len(group)]))
        start += len(group)
    link, household, building, compound, neighbourhood = objs
    HouseholdLink._meta.get_field("household").set_cached_value(link, household)
    HouseholdLink._meta.get_field("neighbourhood").set_cached_value(link, neighbourhood)
    Household._meta.get_field("building").set_cached_value(household, building)
    Building._meta.get_field("compound").set_cached_value(building, compound)
    return link


def household_link_parse(token: str) -> tuple[int, str] | None:
    """``(link id, nonce)`` of a token whose signature holds, without reading the link (None for a
    forged or malformed one). Whether the link is live (not revoked, the same nonce) is for the
    caller's read: ``household_link_resolve``, or a hot path's own statement (ADR 0023)."""
    try:
        data = signing.loads(token, salt=LINK_SALT)
        link_id, nonce = int(data["l"]), str(data["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    if not 0 < link_id < 2**63:
        return None
    return link_id, nonce


def household_link_resolve(token: str) -> HouseholdLink | None:
    """The live link a token names, or None for a forged, malformed or revoked token."""
    parsed = household_link_parse(token)
    if parsed is None:
        return None
    link_id, nonce = parsed
    link = _live_link(link_id)
    if link is None or not secrets.compare_digest(link.nonce, nonce):
        return None
    household_link_used(link.pk, link.last_used_at)
    return link


def household_link_used(link_id: int, last_used_at) -> None:
    """Record a link's use, at most once every five minutes (``last_used_at``: as read)."""
    now = timezone.now()
    if last_used_at is None or (now - last_used_at).total_seconds() > 300:
        _touch_link(link_id, now)


def _touch_link(link_id: int, now) -> None:
    """Record a link's last use. On PostgreSQL, outside a transaction, its commit does not wait
    for the disk (``synchronous_commit`` off for this one statement's transaction): a last-use
    time lost in a crash is harmless, and a household's report should not wait a disk flush for
    it (ADR 0019)."""
    from django.db import connection

    if (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and not connection.settings_dict.get("OPTIONS", {}).get("server_side_binding")  # two statements in one
    ):
        qn = connection.ops.quote_name
        with connection.cursor() as cur:
            cur.execute(
                f"SET LOCAL synchronous_commit TO OFF; UPDATE {qn(HouseholdLink._meta.db_table)} "  # noqa: S608
                "SET last_used_at = %s WHERE id = %s",
                [now, link_id],
            )
    else:
        HouseholdLink.objects.filter(pk=link_id).update(last_used_at=now)


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


# --- Two-factor sign-in (TOTP + backup codes, django-otp; see ``accounts.otp``) -------------------

BACKUP_CODE_COUNT = 10
_TOTP_NAME = "手机验证器"


def otp_enrol_start(*, user: User):
    """The unconfirmed authenticator being set up (the same one until confirmed, so reloading the
    page does not change the QR code); ``None`` when one is already confirmed."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return None
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=_TOTP_NAME, confirmed=False)


def _new_backup_codes(user: User) -> list[str]:
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="备用码", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


@transaction.atomic
def otp_enrol_confirm(*, user: User, device, code: str) -> list[str]:
    """Confirm the authenticator with a code it shows; returns the backup codes (shown once,
    stored only as django-otp stores them). Raises ``ValidationError`` on a wrong code."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user, confirmed=False)
    if not device.verify_token(code):
        raise ValidationError({"code": ["验证码不对: 请输入手机上此刻显示的 6 位数字(注意手机时间要准确)"]})
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    codes = _new_backup_codes(user)
    audit_record(actor=user, action="user.otp_enrol", obj=user, object_repr=user.username)
    return codes


@transaction.atomic
def otp_backup_codes_regenerate(*, user: User) -> list[str]:
    """New backup codes; the old ones stop working."""
    codes = _new_backup_codes(user)
    audit_record(actor=user, action="user.otp_backup_codes", obj=user, object_repr=user.username)
    return codes


def _delete_devices(user: User) -> int:
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user).delete()[0] + StaticDevice.objects.filter(user=user).delete()[0]


@transaction.atomic
def otp_remove(*, user: User) -> None:
    """Turn one's own 2FA off (for an account that must have it, the next page asks to enrol again:
    this is how a new phone is set up)."""
    _delete_devices(user)
    audit_record(actor=user, action="user.otp_remove", obj=user, object_repr=user.username)


def otp_verify(*, user: User, code: str):
    """The device that accepts ``code`` (a backup code is used up), or ``None`` — audited. Wrong
    codes slow the device down (django-otp's throttling: 1, 2, 4 … seconds)."""
    from django_otp import match_token

    device = match_token(user, code)
    if device is None:
        audit_record(actor=user, action="user.otp_failed", obj=user, object_repr=user.username)
    return device


@transaction.atomic
def team_otp_reset(*, actor, user: User) -> User:
    """Remove a member's second factor (a lost phone and lost backup codes); their next sign-in
    enrols again, and a session verified with the old phone is asked again. Same reach as a
    password reset; audited."""
    user, first = _wholly_in_team(actor, user, "重置两步验证")
    removed = _delete_devices(user)
    _audit_member(actor, user, first, "user.otp_reset", devices_removed=removed)
    return user
