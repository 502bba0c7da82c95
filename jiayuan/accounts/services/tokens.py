"""Role assignments and API tokens (created, checked; the hot paths read a token together with
their own rows: ``api_token_statement``)."""

from __future__ import annotations

import functools
import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from jiayuan.accounts.models import ApiToken, Assignment, User
from jiayuan.core import rawsql
from jiayuan.core.audit import audit_record
from jiayuan.core.permissions import Role
from jiayuan.places.models import Building, Compound, Neighbourhood, Street

_LEVEL_OF = {Street: "street", Neighbourhood: "neighbourhood", Compound: "compound", Building: "building"}


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


# What a token's request never reads of its user and assignments: left deferred (a read of one
# loads it, as with ``only()``). Each column costs every scanner request its decoding, and the
# timestamps are parsed in Python (ADR 0023, addendum of stop 21).
_UNREAD_USER_FIELDS = frozenset({"password", "last_login", "email", "date_joined"})
_UNREAD_ASSIGNMENT_FIELDS = frozenset({"created_at"})


@functools.cache
def _token_fields() -> tuple[list, list, list]:
    return (
        [ApiToken._meta.get_field("id")],
        [f for f in User._meta.concrete_fields if f.name not in _UNREAD_USER_FIELDS],
        [f for f in Assignment._meta.concrete_fields if f.name not in _UNREAD_ASSIGNMENT_FIELDS],
    )


_TOKEN_SQL: dict[tuple, tuple[str, int]] = {}

# A token's use is recorded at most this often (seconds): a scanner posting every second should
# not write every time.
USE_RECORDED_EVERY = 60


def api_token_statement(conn, *, select: str = "", joins: str = "") -> tuple[str, int]:
    """The token read as one statement, for ``api_token_authenticate`` and for a hot path that
    reads its own rows in the same round trip (the gate's scan): ``SELECT <token, user,
    assignment columns>[, select] FROM token JOIN user LEFT JOIN assignment [joins] WHERE`` the
    key's hash (the last parameter: ``api_token_hash``) names a live token of an active user.
    One row per active assignment (one with NULLs when none). Returns the SQL and the number of
    columns before ``select``; ``api_token_user`` turns the rows into the user.

    The token's last use comes back as seconds since the epoch, not as a time stamp: psycopg
    decodes a time stamp with a time zone in Python, which cost every scanner request more than
    the rest of its token."""
    key = (conn.alias, select, joins)
    cached = _TOKEN_SQL.get(key)
    if cached is not None:
        return cached
    qn = conn.ops.quote_name
    token_fields, user_fields, a_fields = _token_fields()
    used = f"t.{qn('last_used_at')}"
    if conn.vendor == "postgresql":
        used = f"EXTRACT(EPOCH FROM {used})::float8"
    else:  # SQLite keeps UTC text
        used = f"CAST(strftime('%%s', {used}) AS REAL)"
    cols = ", ".join(
        [
            rawsql.columns(token_fields, "t", conn),
            used,
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
    _TOKEN_SQL[key] = (sql, len(token_fields) + 1 + len(user_fields) + len(a_fields))
    return _TOKEN_SQL[key]


def api_token_user(conn, rows) -> User | None:
    """The user of ``api_token_statement``'s rows (None when there are none: no such live token),
    with their active assignments primed for ``core.scoping``; the token's use is recorded at most
    once a minute (``USE_RECORDED_EVERY``)."""
    if not rows:
        return None
    _token, user_fields, a_fields = _token_fields()
    nu, na = len(user_fields), len(a_fields)
    token_id, used = rows[0][0], rows[0][1]
    # Values as the ORM would give them (SQLite datetimes, booleans): the backend's converters.
    rows = rawsql.convert_rows(conn, user_fields + a_fields, [r[2 : 2 + nu + na] for r in rows])
    user = rawsql.instance(User, conn, user_fields, rows[0][:nu])
    assignments = []
    for row in rows:
        values = row[nu : nu + na]
        if values[0] is None:  # the LEFT JOIN found no active assignment
            continue
        assignments.append(rawsql.instance(Assignment, conn, a_fields, values))
    user.__dict__["_jiayuan_assignments"] = assignments
    now = timezone.now()
    if used is None or now.timestamp() - used > USE_RECORDED_EVERY:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return user
