"""The household's order in one statement (``services.order_place_fast``, ADR 0019), PostgreSQL only:
the same order, lines, counters and audit event as ``order_place``; 50 households at once never
oversell; a replayed key is the first order; sold out is a 409; a closed group buy, a limited
item or pickup take the transactional path."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.test import Client

from jiayuan.core.models import AuditEvent
from jiayuan.places import services as places
from jiayuan.supplies import services
from jiayuan.supplies.models import GroupBuyItem, Order, OrderLine
from jiayuan.supplies.tests.conftest import item_ids

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement order is PostgreSQL only")


def _open(make_group_buy, leader, head, items):
    gb = make_group_buy(leader, items=items)
    services.group_buy_pick(actor=head, group_buy=gb)
    services.group_buy_open(actor=head, group_buy=gb)
    return gb, item_ids(gb)


def _post(client, gb, token, items, key=""):
    body = {"token": token, "items": [{"item": i, "quantity": q} for i, q in items], "idempotency_key": key}
    return client.post(f"/api/v1/group-buys/{gb.pk}/orders", body, content_type="application/json")


def test_fast_order_writes_what_order_place_writes(
    make_group_buy, leader, head, committee_mode, household, household2, link_token
):
    gb, (rice, oil) = _open(
        make_group_buy,
        leader,
        head,
        [{"name": "米", "unit_price": "45.00", "total_quantity": 10}, {"name": "油", "unit_price": "79.50"}],
    )
    client = Client()
    r = _post(client, gb, link_token(household), [(oil, 1), (rice, 2)], key="k1")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["total_amount"] == "169.50"
    assert [(ln["item"], ln["name"], ln["quantity"], ln["unit_price"]) for ln in body["lines"]] == [
        (rice, "米", 2, "45.00"),
        (oil, "油", 1, "79.50"),
    ]
    fast = Order.objects.get(pk=body["id"])
    assert (fast.household_id, fast.building_id, fast.total_amount, fast.idempotency_key) == (
        household.pk,
        household.building_id,
        Decimal("169.50"),
        "k1",
    )
    assert sorted(OrderLine.objects.filter(order=fast).values_list("item_id", "quantity")) == [(rice, 2), (oil, 1)]
    assert GroupBuyItem.objects.get(pk=rice).ordered_quantity == 2
    # The same order through the transactional path, for comparison of the audit event.
    slow, _created = services.order_place(
        actor="household-link:x", group_buy=gb, household=household2, quantities={rice: 2, oil: 1}
    )
    fast_event = AuditEvent.objects.get(action="supplies.order_place", object_id=str(fast.pk))
    slow_event = AuditEvent.objects.get(action="supplies.order_place", object_id=str(slow.pk))
    assert fast_event.object_type == slow_event.object_type == "supplies.order"
    assert fast_event.object_repr == fast.audit_repr()
    assert fast_event.neighbourhood_id == slow_event.neighbourhood_id
    assert fast_event.changes == {"group_buy": gb.pk, "items": {str(rice): 2, str(oil): 1}, "proxy_for": None}
    assert fast_event.changes == slow_event.changes
    assert fast_event.actor_label.startswith("household-link:")
    # A replay answers with the first order and stores nothing more.
    again = _post(client, gb, link_token(household), [(oil, 1), (rice, 2)], key="k1")
    assert again.status_code == 201 and again.json() == body
    assert Order.objects.filter(household=household).count() == 1
    assert GroupBuyItem.objects.get(pk=rice).ordered_quantity == 4


def test_sold_out_is_409_and_changes_nothing(make_group_buy, leader, head, committee_mode, household, link_token):
    gb, (rice,) = _open(make_group_buy, leader, head, [{"name": "米", "unit_price": "50", "total_quantity": 3}])
    client = Client()
    assert _post(client, gb, link_token(household), [(rice, 2)], key="a").status_code == 201
    r = _post(client, gb, link_token(household), [(rice, 2)], key="b")
    assert r.status_code == 409 and "只剩1" in r.json()["detail"]
    assert Order.objects.filter(group_buy=gb).count() == 1
    assert GroupBuyItem.objects.get(pk=rice).ordered_quantity == 2
    # The first order's replay is still answered with it, sold out or not.
    assert _post(client, gb, link_token(household), [(rice, 2)], key="a").status_code == 201


def test_closed_buy_limited_item_and_unknown_item_take_the_exact_path(
    make_group_buy, leader, head, committee_mode, household, link_token
):
    gb, (veg, eggs) = _open(make_group_buy, leader, head, None)  # the fixture's items have limits
    client = Client()
    assert services.order_place_fast(actor="x", group_buy_id=gb.pk, household=household, quantities={veg: 1}) is None
    r = _post(client, gb, link_token(household), [(veg, 3)])
    assert r.status_code == 422  # 每户限购2, from order_place
    assert _post(client, gb, link_token(household), [(veg, 1)]).status_code == 201
    services.group_buy_close(actor=head, group_buy=gb)
    assert services.order_place_fast(actor="x", group_buy_id=gb.pk, household=household, quantities={eggs: 1}) is None
    assert _post(client, gb, link_token(household), [(eggs, 1)]).status_code == 422
    assert Order.objects.filter(group_buy=gb).count() == 1


def test_fifty_households_at_once_never_oversell(make_group_buy, leader, head, committee_mode, building, link_token):
    gb, (rice, oil) = _open(
        make_group_buy,
        leader,
        head,
        [
            {"name": "米", "unit_price": "50", "total_quantity": 60},
            {"name": "油", "unit_price": "80", "total_quantity": 30},
        ],
    )
    homes = [places.household_create(actor=None, building=building, unit="3", room=str(300 + n)) for n in range(50)]
    tokens = [link_token(h) for h in homes]
    barrier = threading.Barrier(len(homes))
    statuses: list[int] = []
    lock = threading.Lock()

    def household(n: int) -> None:
        try:
            client = Client()
            barrier.wait()
            for k in range(3):
                # Both items, in both orders, so the rows' lock order matters (no deadlock).
                items = [(rice, 1 + n % 2), (oil, 1)] if n % 2 else [(oil, 1), (rice, 1 + n % 2)]
                r = _post(client, gb, tokens[n], items, key=f"{n}-{k}")
                if k == 0:  # a phone on a bad network sends its first order twice
                    again = _post(client, gb, tokens[n], items, key=f"{n}-{k}")
                    assert again.status_code == r.status_code
                with lock:
                    statuses.append(r.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=household, args=(n,)) for n in range(len(homes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(statuses) == 150 and set(statuses) <= {201, 409}
    assert 409 in statuses  # the stock ran out
    for item_id, stock in ((rice, 60), (oil, 30)):
        ordered = sum(OrderLine.objects.filter(item_id=item_id).values_list("quantity", flat=True))
        assert ordered <= stock
        assert GroupBuyItem.objects.get(pk=item_id).ordered_quantity == ordered
    assert Order.objects.filter(group_buy=gb).count() == statuses.count(201)
    assert AuditEvent.objects.filter(action="supplies.order_place").count() == statuses.count(201)
