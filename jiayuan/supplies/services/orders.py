"""Orders: a household's (the transactional path and PostgreSQL's one-statement fast path),
by staff for a household, cancelled, paid."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, ProgrammingError, connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from jiayuan.core import context, rawsql
from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can
from jiayuan.people.choices import Tag
from jiayuan.people.models import Resident
from jiayuan.places.models import Household
from jiayuan.supplies.choices import (
    DeliveryMode,
    GroupBuyStatus,
    OrderStatus,
)
from jiayuan.supplies.models import (
    GroupBuy,
    GroupBuyItem,
    Order,
    OrderLine,
)
from jiayuan.supplies.services._shared import (
    MAX_ID,
    MAX_QUANTITY,
    S,
    SoldOutError,
    clean_idempotency_key,
    require_may_go_out,
)

# Orders ------------------------------------------------------------------------------------


def _clean_quantities(quantities: dict[Any, Any]) -> dict[int, int]:
    clean: dict[int, int] = {}
    errors = []
    for raw_item, raw_qty in (quantities or {}).items():
        try:
            item_id, qty = int(raw_item), int(raw_qty or 0)
        except (TypeError, ValueError):
            errors.append("数量应为整数")
            continue
        if not 0 < item_id <= MAX_ID:
            errors.append("商品不属于该团购")
            continue
        if qty < 0:
            errors.append("数量不能为负")
            continue
        if qty > MAX_QUANTITY:
            errors.append(f"每项数量不能超过{MAX_QUANTITY}")
            continue
        if qty:
            clean[item_id] = clean.get(item_id, 0) + qty
    if errors:
        raise ValidationError({"items": sorted(set(errors))})
    if not clean:
        raise ValidationError({"items": ["请至少选择一件商品"]})
    return clean


def order_place(
    *,
    actor,
    group_buy: GroupBuy,
    household: Household,
    quantities: dict[Any, Any],
    delivery_mode: str = DeliveryMode.DOOR,
    is_proxy: bool = False,
    proxy_for: Resident | None = None,
    idempotency_key: str = "",
    note: str = "",
) -> tuple[Order, bool]:
    """Place an order; returns ``(order, created)``. A retry with the same idempotency key
    returns the first order and changes nothing.

    No oversell: the ordered item rows are locked (in id order, so two orders cannot deadlock)
    before the remaining quantity and the household's limit are checked; the check constraint
    on ``GroupBuyItem`` backs it up.

    This is the hot path of a popular group buy (every order locks the same item rows), so it
    is written to few statements: no look-up of the key before writing (the unique constraint
    on ``(group_buy, household, idempotency_key)`` catches a retry, and only then is the first
    order fetched), one ``UPDATE`` for all the counters, and the item locks taken last so they
    are held for the check and the counter update only.
    """
    clean = _clean_quantities(quantities)
    key = clean_idempotency_key(idempotency_key)
    if delivery_mode not in DeliveryMode.values:
        raise ValidationError({"delivery_mode": ["不是可选值之一"]})
    if household.building.compound_id != group_buy.compound_id:
        raise ValidationError({"household": ["只能订本小区的团购"]})
    if delivery_mode == DeliveryMode.PICKUP:
        require_may_go_out(household, field="delivery_mode")
    try:
        # A savepoint when called inside a transaction (the API's idempotency record), so a
        # refused order leaves the caller's transaction usable for the look-up below.
        with transaction.atomic():
            return _order_write(
                actor=actor,
                group_buy=group_buy,
                household=household,
                clean=clean,
                delivery_mode=delivery_mode,
                is_proxy=is_proxy,
                proxy_for=proxy_for,
                key=key,
                note=note,
            )
    except (IntegrityError, ValidationError):
        # A retry (or a concurrent retry that committed first) answers with the first order,
        # even if the group buy has closed or sold out since.
        if key:
            existing = (
                Order.objects.filter(group_buy=group_buy, household=household, idempotency_key=key)
                .prefetch_related("lines__item")
                .first()
            )
            if existing is not None:
                return existing, False
        raise


def _order_write(
    *,
    actor,
    group_buy: GroupBuy,
    household: Household,
    clean: dict[int, int],
    delivery_mode: str,
    is_proxy: bool,
    proxy_for: Resident | None,
    key: str,
    note: str,
) -> tuple[Order, bool]:
    items = list(
        GroupBuyItem.objects.filter(group_buy_id=group_buy.pk, pk__in=list(clean))
        .order_by("id")
        .only("id", "name", "unit", "unit_price", "per_household_limit", "total_quantity")
    )
    if len(items) != len(clean):
        raise ValidationError({"items": ["商品不属于该团购"]})
    over = [
        f"{i.name}每户限购{i.per_household_limit}{i.unit}"
        for i in items
        if i.per_household_limit is not None and clean[i.pk] > i.per_household_limit
    ]
    if over:
        raise ValidationError({"items": over})
    order = Order.objects.create(
        neighbourhood_id=group_buy.neighbourhood_id,
        group_buy_id=group_buy.pk,
        household=household,
        building_id=household.building_id,
        delivery_mode=delivery_mode,
        is_proxy=is_proxy,
        placed_by=_user(actor) if is_proxy else None,
        proxy_for=proxy_for,
        total_amount=sum((i.unit_price * clean[i.pk] for i in items), Decimal("0")),
        idempotency_key=key,
        note=(note or "")[:200],
    )
    lines = OrderLine.objects.bulk_create(
        [
            OrderLine(
                neighbourhood_id=group_buy.neighbourhood_id,
                order=order,
                item=item,
                quantity=clean[item.pk],
                unit_price=item.unit_price,
            )
            for item in items
        ]
    )
    audit_record(
        actor=actor,
        action="supplies.order_proxy" if is_proxy else "supplies.order_place",
        obj=order,
        changes={
            "group_buy": group_buy.pk,
            "items": {str(k): v for k, v in clean.items()},
            "proxy_for": proxy_for.pk if proxy_for else None,
        },
    )
    # The guard, last so the hot rows are locked as briefly as possible: one conditional UPDATE
    # per item, in id order (two orders cannot deadlock). Each locks its row, re-reads the
    # latest counter and adds the quantity only if it still fits; the check constraint on
    # GroupBuyItem backs it up.
    for item in items:
        qty = clean[item.pk]
        fits = GroupBuyItem.objects.filter(pk=item.pk).filter(
            Q(total_quantity__isnull=True) | Q(ordered_quantity__lte=F("total_quantity") - qty)
        )
        if not fits.update(ordered_quantity=F("ordered_quantity") + qty):
            raise _sold_out_error(clean, item.name)
    # Read after the row locks, in its own statement (so its snapshot is taken after any wait):
    # closing and cancelling lock the items too, so one that committed meanwhile is seen here,
    # and one that comes later waits for this order. (Reading the status earlier under a
    # shared lock on the group buy row would let a stream of orders starve the close.)
    status = GroupBuy.objects.filter(pk=group_buy.pk).order_by().values_list("status", flat=True).get()
    if status != S.OPEN:
        raise ValidationError(f"该团购{GroupBuyStatus(status).label},不能下单")
    # The household's limit counts its earlier orders; read after the row locks above, so a
    # concurrent order of the same household that committed first is counted.
    limited = [i for i in items if i.per_household_limit is not None]
    if limited:
        had = dict(
            OrderLine.objects.filter(
                order__household=household, order__status=OrderStatus.ACTIVE, item__in=[i.pk for i in limited]
            )
            .exclude(order=order)
            .values_list("item_id")
            .annotate(n=Sum("quantity"))
            .order_by()
        )
        over = [
            f"{i.name}每户限购{i.per_household_limit}{i.unit}"
            for i in limited
            if had.get(i.pk, 0) + clean[i.pk] > i.per_household_limit
        ]
        if over:
            raise ValidationError({"items": over})
    order._prefetched_objects_cache = {"lines": lines}
    return order, True


def _sold_out_error(clean: dict[int, int], name: str = "") -> SoldOutError:
    """409's message: what is left of each item asked for more than is left (read, not locked)."""
    rows = (
        GroupBuyItem.objects.filter(pk__in=list(clean))
        .order_by("id")
        .values_list("pk", "name", "unit", "total_quantity", F("total_quantity") - F("ordered_quantity"))
    )
    messages = [
        f"{item_name}只剩{max(left, 0)}{unit}"
        for pk, item_name, unit, total, left in rows
        if total is not None and left is not None and clean[pk] > left
    ]
    return SoldOutError({"items": messages or [f"{name or '商品'}已订完"]})


# A tiny transaction that writes WAL (a transactional logical message: no table, any wal_level)
# and commits synchronously: when it returns, every commit before it is on disk, including an
# asynchronously committed order of this connection. Nobody is told "ordered" before that.
WAIT_FOR_FLUSH = "SELECT pg_logical_emit_message(true, 'jiayuan', 'flush')"
# The PostgreSQL types of ``order_place_fast``'s parameters, in order (its PREPAREd form).
ORDER_PARAM_TYPES = (
    "bigint[]",
    "int[]",
    "bigint",
    "bigint",
    "text",
    "bigint",
    "bigint",
    "text",
    "text",
    "text",
    "timestamptz",
    "bigint",
    "timestamptz",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
)


def order_place_fast(
    *,
    actor: str,
    group_buy_id: int,
    household: Household,
    quantities: dict[Any, Any],
    delivery_mode: str = DeliveryMode.DOOR,
    idempotency_key: str = "",
) -> Order | None:
    """A household's own order in ONE statement, in autocommit (PostgreSQL; ADR 0019), or ``None``
    when the caller must take ``order_place``, which gives the exact answer.

    ``order_place`` holds the hot item rows from its counter ``UPDATE`` to its ``COMMIT``: three
    round trips during which every other order of the same group buy waits, and on a busy machine
    the process holding them may be descheduled in between. Here the locks live only while
    PostgreSQL runs one statement of data-modifying CTEs:

    - ``g``: the group buy, open and in the household's compound, ``FOR SHARE``: a close or cancel
      (``FOR NO KEY UPDATE`` on it) waits for the orders under way, and an order that waited for a
      close re-reads the row and finds it closed (no row: nothing is written);
    - ``it``: the ordered items of that group buy, read without a lock; an item with a
      per-household limit is not taken here (its check needs the household's earlier orders read
      after the lock: ``order_place`` does it); unless every item asked for is there, nothing is
      written;
    - ``lk`` (run last): the item rows, locked in id order (two orders cannot deadlock), so they
      are held only from the counter update to the end of the statement;
    - ``u``: the counters, unguarded: an order that would oversell breaks the check constraint
      ``sup_item_no_oversell`` and the whole statement is undone: ``SoldOutError`` (409), with
      what is left;
    - ``o``, ``l``, ``a``: the order, its lines and its audit event (as ``audit_record`` writes
      it); a replayed idempotency key breaks ``sup_order_idempotency`` and the whole statement is
      undone: the first order is returned.

    Durability without a queue at the disk: the statement commits with ``synchronous_commit``
    off (``SET LOCAL``, this transaction only, so PgBouncer's transaction mode is fine), which
    releases the item rows without waiting for the WAL flush; the answer is given only after
    ``WAIT_FOR_FLUSH``, sent in the same round trip, committed synchronously, i.e. once the
    order is on disk. A crash in between loses an order nobody was told about (with its counters
    and audit event: one transaction); the client's retry with its key places it again.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block or delivery_mode != DeliveryMode.DOOR:
        return None
    if not 0 < group_buy_id <= MAX_ID or connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"):
        return None  # (several statements in one query need psycopg's client-side binding, Django's default)
    try:
        clean = _clean_quantities(quantities)
        key = clean_idempotency_key(idempotency_key)
    except ValidationError:
        return None
    building = household.building
    ctx = context.current()
    now = timezone.now()
    ids = sorted(clean)
    qn = connection.ops.quote_name
    items_t, order_t = qn(GroupBuyItem._meta.db_table), qn(Order._meta.db_table)
    sql = (
        "WITH r (item_id, qty) AS (SELECT * FROM unnest(%s::bigint[], %s::int[])), "  # noqa: S608
        f"g AS (SELECT id, neighbourhood_id FROM {qn(GroupBuy._meta.db_table)} "
        "WHERE id = %s AND compound_id = %s AND status = %s FOR SHARE), "
        # The items as asked, read without a lock (as order_place reads them).
        f"it AS (SELECT i.id, i.name, i.unit_price, r.qty FROM {items_t} i JOIN r ON r.item_id = i.id "
        "WHERE i.group_buy_id = (SELECT id FROM g) AND i.per_household_limit IS NULL), "
        f"o AS (INSERT INTO {order_t} (neighbourhood_id, group_buy_id, household_id, building_id, status, "
        "delivery_mode, is_proxy, placed_by_id, proxy_for_id, total_amount, paid, idempotency_key, note, created_at) "
        "SELECT g.neighbourhood_id, g.id, %s, %s, %s, %s, false, NULL, NULL, "
        "(SELECT sum(it.unit_price * it.qty) FROM it), false, %s, '', %s FROM g "
        "WHERE (SELECT count(*) FROM it) = %s RETURNING id, total_amount), "
        f"l AS (INSERT INTO {qn(OrderLine._meta.db_table)} (neighbourhood_id, order_id, item_id, quantity, unit_price) "
        "SELECT g.neighbourhood_id, o.id, it.id, it.qty, it.unit_price FROM o, g, it ORDER BY it.id), "
        f"a AS (INSERT INTO {qn(AuditEvent._meta.db_table)} (created_at, actor_id, actor_label, action, object_type, "
        "object_id, object_repr, neighbourhood_id, changes, ip, user_agent, channel) "
        "SELECT %s, NULL, %s, 'supplies.order_place', %s, o.id::text, left('#' || o.id || %s, 200), "
        "g.neighbourhood_id, %s::jsonb, %s, %s, %s FROM o, g), "
        # Last (u is read by nobody, so it runs after the query above): the hot rows, locked in id
        # order (no deadlock), held from here to the end of the statement only.
        f"lk AS (SELECT i.id, it.qty FROM {items_t} i JOIN it ON it.id = i.id WHERE EXISTS (SELECT 1 FROM o) "
        "ORDER BY i.id FOR UPDATE OF i), "
        f"u AS (UPDATE {items_t} i SET ordered_quantity = i.ordered_quantity + lk.qty FROM lk WHERE i.id = lk.id) "
        "SELECT o.id, o.total_amount, it.id, it.name, it.qty, it.unit_price FROM o, it ORDER BY it.id"
    )
    params = [
        ids,
        [clean[i] for i in ids],
        group_buy_id,
        building.compound_id,
        S.OPEN,
        household.pk,
        household.building_id,
        OrderStatus.ACTIVE,
        delivery_mode,
        key,
        now,
        len(ids),
        now,
        str(actor)[:150],
        Order._meta.label_lower,
        f" {building.name} {household.label}",
        json.dumps({"group_buy": group_buy_id, "items": {str(k): v for k, v in clean.items()}, "proxy_for": None}),
        ctx.ip,
        ctx.user_agent,
        ctx.channel,
    ]
    try:
        # Planned once per session (ADR 0023): EXECUTE of the statement PREPAREd with its types;
        # behind PgBouncer (nothing kept on a session) the statement itself, planned each time.
        name = rawsql.session_prepared(connection, "jy_order", ORDER_PARAM_TYPES, sql)
        statement = f"EXECUTE {name}({', '.join(['%s'] * len(params))})" if name else sql
        with connection.cursor() as cur:
            # One round trip, two implicit transactions (a COMMIT inside a multi-statement query
            # ends the first): the order's commit does not wait for the WAL to reach the disk, so
            # the item rows are free as soon as its statement ends; the second waits for the flush
            # without holding any lock, so concurrent orders share one flush (group commit)
            # instead of queueing one disk flush each. An error skips the rest and rolls back.
            cur.execute(f"SET LOCAL synchronous_commit TO OFF; {statement}; COMMIT; {WAIT_FOR_FLUSH}", params)
            cur.nextset()
            rows = cur.fetchall()
    except ProgrammingError:
        rawsql.session_prepared_forget(connection)  # the session lost it: prepared anew next time
        return None
    except IntegrityError as exc:
        # The whole statement was undone. A replayed key is answered with the first order (even
        # if the group buy has sold out or closed since); an order that does not fit is a 409 at
        # once (no transaction holding the item rows to find it out again).
        if key:
            existing = (
                Order.objects.filter(group_buy_id=group_buy_id, household=household, idempotency_key=key)
                .prefetch_related("lines__item")
                .first()
            )
            if existing is not None:
                return existing
        if getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "") == "sup_item_no_oversell":
            raise _sold_out_error(clean) from exc
        return None
    except DataError:
        return None  # an amount out of range: order_place answers it as it always has
    if not rows:
        return None
    order = Order(
        id=rows[0][0],
        neighbourhood_id=household.neighbourhood_id,
        group_buy_id=group_buy_id,
        household=household,
        building_id=household.building_id,
        status=OrderStatus.ACTIVE,
        delivery_mode=delivery_mode,
        total_amount=rows[0][1],
        idempotency_key=key,
        created_at=now,
    )
    order._state.adding = False
    order._prefetched_objects_cache = {
        "lines": [
            OrderLine(
                order=order,
                item=GroupBuyItem(id=item_id, group_buy_id=group_buy_id, name=name, unit_price=price),
                quantity=qty,
                unit_price=price,
            )
            for _o, _t, item_id, name, qty, price in rows
        ]
    }
    return order


def order_place_by_staff(
    *,
    actor,
    group_buy: GroupBuy,
    household: Household,
    quantities: dict[Any, Any],
    resident: Resident | None = None,
    delivery_mode: str = DeliveryMode.DOOR,
    idempotency_key: str = "",
    note: str = "",
) -> tuple[Order, bool]:
    """A proxy order. Building leaders (PROXY_ORDER) order for residents tagged 无智能手机 in
    their buildings; group-buy managers may order for any household in their scope."""
    manages = can(actor, Action.MANAGE_GROUP_BUYS, household)
    if not manages:
        if not can(actor, Action.PROXY_ORDER, household):
            raise ValidationError({"household": ["无权为该住户代下单"]})
        if resident is None:
            raise ValidationError({"resident": ["请选择代谁下单(无智能手机的居民)"]})
    if resident is not None:
        if resident.household_id != household.pk:
            raise ValidationError({"resident": ["该居民不属于此住户"]})
        if not manages and not resident.tag_rows.filter(tag=Tag.NO_SMARTPHONE).exists():
            raise ValidationError({"resident": ["只能为标记为“无智能手机”的居民代下单"]})
    return order_place(
        actor=actor,
        group_buy=group_buy,
        household=household,
        quantities=quantities,
        delivery_mode=delivery_mode,
        is_proxy=True,
        proxy_for=resident,
        idempotency_key=idempotency_key,
        note=note,
    )


@transaction.atomic
def order_cancel(*, actor, order: Order) -> Order:
    """Cancel an order while the group buy is still open; its quantities go back."""
    lines = list(order.lines.all())
    items = list(GroupBuyItem.objects.select_for_update().filter(pk__in=[ln.item_id for ln in lines]).order_by("id"))
    order = Order.objects.select_for_update().select_related("group_buy").get(pk=order.pk)
    if order.status != OrderStatus.ACTIVE:
        raise ValidationError("订单已经取消")
    if order.group_buy.status != S.OPEN:
        raise ValidationError("已截单,不能取消订单;如需退款请登记退款")
    for line in lines:
        GroupBuyItem.objects.filter(pk=line.item_id).update(ordered_quantity=F("ordered_quantity") - line.quantity)
    order.status = OrderStatus.CANCELLED
    order.save(update_fields=["status"])
    audit_record(actor=actor, action="supplies.order_cancel", obj=order, changes={"items": len(items)})
    return order


@transaction.atomic
def order_set_paid(*, actor, order: Order, paid: bool) -> Order:
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.paid != paid:
        order.paid = paid
        order.save(update_fields=["paid"])
        audit_record(actor=actor, action="supplies.order_paid" if paid else "supplies.order_unpaid", obj=order)
    return order
