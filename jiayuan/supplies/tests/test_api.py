"""The supplies API: list with status filter, orders by link token or by staff (201/409/422,
idempotency), sorting per building, appointments; scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from jiayuan.accounts.services import api_token_create
from jiayuan.core.permissions import Role
from jiayuan.places import services as places
from jiayuan.supplies import services
from jiayuan.supplies.models import Order
from jiayuan.supplies.tests.conftest import item_ids

pytestmark = pytest.mark.django_db


def bearer(user):
    _token, key = api_token_create(actor=None, user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_list_filters_by_status_and_scope(
    client, open_buy, make_group_buy, leader, head, make_user, other_neighbourhood
):
    make_group_buy(leader, title="牛奶", category="eggs_milk")
    r = client.get("/api/v1/group-buys", **bearer(head))
    assert r.status_code == 200 and r.json()["count"] == 2
    r = client.get("/api/v1/group-buys?status=open", **bearer(head))
    (row,) = r.json()["items"]
    assert row["id"] == open_buy.pk and row["status"] == "open"
    assert row["items"][0]["remaining"] == 100
    assert "*" in row["leader"]  # masked name
    outsider = make_user(Role.COMMITTEE_HEAD, other_neighbourhood)
    assert client.get("/api/v1/group-buys", **bearer(outsider)).json()["count"] == 0
    assert client.get("/api/v1/group-buys?status=bogus", **bearer(head)).status_code == 422


def test_household_orders_with_its_link_token(client, open_buy, household, link_token):
    veg, eggs = item_ids(open_buy)
    body = {"token": link_token(household), "items": [{"item": veg, "quantity": 1}, {"item": eggs, "quantity": 2}]}
    r = client.post(f"/api/v1/group-buys/{open_buy.pk}/orders", body, content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["total_amount"] == "119.00"
    assert r.json()["is_proxy"] is False


def test_bad_token_is_401_and_no_auth_is_401(client, open_buy):
    url = f"/api/v1/group-buys/{open_buy.pk}/orders"
    items = [{"item": item_ids(open_buy)[0], "quantity": 1}]
    assert client.post(url, {"token": "forged", "items": items}, content_type="application/json").status_code == 401
    assert client.post(url, {"household": 1, "items": items}, content_type="application/json").status_code == 401


def test_token_of_another_compound_sees_404(client, open_buy, neighbourhood, link_token):
    other = places.compound_create(actor=None, neighbourhood=neighbourhood, name="别的小区")
    h = places.household_create(
        actor=None, building=places.building_create(actor=None, compound=other, number="5"), room="1"
    )
    body = {"token": link_token(h), "items": [{"item": item_ids(open_buy)[0], "quantity": 1}]}
    assert (
        client.post(f"/api/v1/group-buys/{open_buy.pk}/orders", body, content_type="application/json").status_code
        == 404
    )


def test_oversell_is_409_and_limit_is_422(
    client, make_group_buy, leader, head, committee_mode, household, household2, link_token
):
    gb = make_group_buy(
        leader, items=[{"name": "米", "unit_price": "50", "total_quantity": 2, "per_household_limit": 2}]
    )
    services.group_buy_pick(actor=head, group_buy=gb)
    services.group_buy_open(actor=head, group_buy=gb)
    (rice,) = item_ids(gb)
    url = f"/api/v1/group-buys/{gb.pk}/orders"
    r = client.post(
        url, {"token": link_token(household), "items": [{"item": rice, "quantity": 3}]}, content_type="application/json"
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "items"
    assert (
        client.post(
            url,
            {"token": link_token(household), "items": [{"item": rice, "quantity": 2}]},
            content_type="application/json",
        ).status_code
        == 201
    )
    r = client.post(
        url,
        {"token": link_token(household2), "items": [{"item": rice, "quantity": 1}]},
        content_type="application/json",
    )
    assert r.status_code == 409
    assert "库存不足" in r.json()["detail"]
    r = client.post(
        url,
        {"token": link_token(household2), "items": [{"item": rice, "quantity": 0}]},
        content_type="application/json",
    )
    assert r.status_code == 422


def test_retry_with_same_idempotency_key_is_stored_once(client, open_buy, household, link_token):
    url = f"/api/v1/group-buys/{open_buy.pk}/orders"
    body = {
        "token": link_token(household),
        "items": [{"item": item_ids(open_buy)[0], "quantity": 1}],
        "idempotency_key": "abc-1",
    }
    first = client.post(url, body, content_type="application/json")
    again = client.post(url, body, content_type="application/json")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Order.objects.count() == 1


def test_building_leader_proxy_order_by_api(
    client, open_buy, household, household2, building, make_user, make_resident
):
    grandma = make_resident(household, name="王阿婆", tags=["no_smartphone"])
    leader_user = make_user(Role.BUILDING_LEADER, building)
    url = f"/api/v1/group-buys/{open_buy.pk}/orders"
    items = [{"item": item_ids(open_buy)[0], "quantity": 1}]
    r = client.post(
        url,
        {"household": household.pk, "resident": grandma.pk, "items": items},
        content_type="application/json",
        **bearer(leader_user),
    )
    assert r.status_code == 201, r.content
    assert r.json()["is_proxy"] is True
    # Another building's household: not in scope, 404.
    r = client.post(
        url, {"household": household2.pk, "items": items}, content_type="application/json", **bearer(leader_user)
    )
    assert r.status_code == 404


def test_sorting_gives_per_building_totals(client, open_buy, household, household2, head, building, building2):
    veg, eggs = item_ids(open_buy)
    services.order_place(actor="h", group_buy=open_buy, household=household, quantities={veg: 2, eggs: 1})
    services.order_place(actor="h", group_buy=open_buy, household=household2, quantities={eggs: 3})
    r = client.get(f"/api/v1/group-buys/{open_buy.pk}/sorting", **bearer(head))
    assert r.status_code == 200
    data = r.json()
    by_building = {b["building_id"]: {t["item"]: t["quantity"] for t in b["totals"]} for b in data["buildings"]}
    assert by_building == {building.pk: {veg: 2, eggs: 1}, building2.pk: {veg: 0, eggs: 3}}
    assert {t["item"]: t["quantity"] for t in data["totals"]} == {veg: 2, eggs: 4}


def test_sorting_of_a_group_buy_out_of_scope_is_404(client, open_buy, make_user, other_neighbourhood):
    outsider = make_user(Role.COMMITTEE_STAFF, other_neighbourhood)
    assert client.get(f"/api/v1/group-buys/{open_buy.pk}/sorting", **bearer(outsider)).status_code == 404


def test_appointment_by_token_and_double_booking(client, head, neighbourhood, household, link_token):
    campaign = services.campaign_create(
        actor=head, neighbourhood=neighbourhood, title="口罩", item_name="口罩", quota_per_household=5
    )
    start = timezone.now() + dt.timedelta(hours=1)
    window = services.window_create(
        actor=head, campaign=campaign, place="门口", starts_at=start, ends_at=start + dt.timedelta(hours=1), capacity=1
    )
    body = {"window": window.pk, "token": link_token(household), "quantity": 5}
    r = client.post("/api/v1/appointments", body, content_type="application/json")
    assert r.status_code == 201 and r.json()["voucher"].startswith("KZ")
    r = client.post("/api/v1/appointments", body, content_type="application/json")
    assert r.status_code == 422


def test_appointment_full_window_is_409_and_staff_can_book_for_elderly(
    client, head, neighbourhood, household, household2
):
    campaign = services.campaign_create(
        actor=head, neighbourhood=neighbourhood, title="口罩", item_name="口罩", quota_per_household=5
    )
    start = timezone.now() + dt.timedelta(hours=1)
    window = services.window_create(
        actor=head, campaign=campaign, place="门口", starts_at=start, ends_at=start + dt.timedelta(hours=1), capacity=1
    )
    r = client.post(
        "/api/v1/appointments",
        {"window": window.pk, "household": household.pk, "quantity": 2, "mode": "proxy"},
        content_type="application/json",
        **bearer(head),
    )
    assert r.status_code == 201 and r.json()["mode"] == "proxy"
    r = client.post(
        "/api/v1/appointments",
        {"window": window.pk, "household": household2.pk, "quantity": 2},
        content_type="application/json",
        **bearer(head),
    )
    assert r.status_code == 409
