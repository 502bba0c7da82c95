"""Household access links: issued, revoked, printed, resolved from their token, their use stamped."""

from __future__ import annotations

import secrets

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from jiayuan.accounts.models import HouseholdLink
from jiayuan.core import rawsql
from jiayuan.core.actors import acting_user
from jiayuan.core.audit import audit_record
from jiayuan.places.models import Building, Compound, Household, Neighbourhood

LINK_SALT = "jiayuan.household-link"


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
