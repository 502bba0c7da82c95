"""Holes found in review: scope of link tokens and proxy orders, redirects, duplicate
applications, the state machine through the API, and bounded query counts on the pages
that grow with orders and group buys."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from jiayuan.core.permissions import Role
from jiayuan.places import services as places
from jiayuan.supplies import selectors, services
from jiayuan.supplies.choices import GroupBuyStatus
from jiayuan.supplies.models import GroupBuyLeader, Order
from jiayuan.supplies.tests.conftest import item_ids
from jiayuan.supplies.tests.test_api import bearer

pytestmark = pytest.mark.django_db
S = GroupBuyStatus


def _post(client, url, body, **extra):
    return client.post(url, body, content_type="application/json", **extra)


# Scope -------------------------------------------------------------------------------------


def test_a_link_token_orders_for_its_own_household_whatever_the_body_names(
    client, open_buy, household, household2, link_token
):
    body = {
        "token": link_token(household),
        "household": household2.pk,
        "items": [{"item": item_ids(open_buy)[0], "quantity": 1}],
    }
    r = _post(client, f"/api/v1/group-buys/{open_buy.pk}/orders", body)
    assert r.status_code == 201, r.content
    assert r.json()["household"] == household.pk
    assert not Order.objects.filter(household=household2).exists()


def test_building_leader_cannot_proxy_order_by_api_for_a_resident_with_a_smartphone(
    client, open_buy, household, building, make_user, make_resident
):
    young = make_resident(household, name="王小明")
    leader_user = make_user(Role.BUILDING_LEADER, building)
    body = {"household": household.pk, "resident": young.pk, "items": [{"item": item_ids(open_buy)[0], "quantity": 1}]}
    r = _post(client, f"/api/v1/group-buys/{open_buy.pk}/orders", body, **bearer(leader_user))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "resident"
    assert not Order.objects.exists()


def test_building_leader_cannot_proxy_order_for_a_resident_of_another_household(
    client, open_buy, household, household2, building, make_user, make_resident
):
    """The resident must live in the household named: a no-smartphone neighbour in another
    building cannot be used to order into this one."""
    elsewhere = make_resident(household2, name="赵老伯", tags=["no_smartphone"])
    leader_user = make_user(Role.BUILDING_LEADER, building)
    body = {
        "household": household.pk,
        "resident": elsewhere.pk,
        "items": [{"item": item_ids(open_buy)[0], "quantity": 1}],
    }
    r = _post(client, f"/api/v1/group-buys/{open_buy.pk}/orders", body, **bearer(leader_user))
    assert r.status_code == 422
    assert not Order.objects.exists()


def test_staff_of_another_neighbourhood_cannot_order_or_book_for_our_households(
    client, open_buy, household, make_user, other_neighbourhood, head, neighbourhood
):
    outsider = make_user(Role.COMMITTEE_HEAD, other_neighbourhood)
    items = [{"item": item_ids(open_buy)[0], "quantity": 1}]
    r = _post(
        client,
        f"/api/v1/group-buys/{open_buy.pk}/orders",
        {"household": household.pk, "items": items},
        **bearer(outsider),
    )
    assert r.status_code == 404
    campaign = services.campaign_create(
        actor=head, neighbourhood=neighbourhood, title="口罩", item_name="口罩", quota_per_household=5
    )
    start = timezone.now() + dt.timedelta(hours=1)
    window = services.window_create(
        actor=head, campaign=campaign, place="门口", starts_at=start, ends_at=start + dt.timedelta(hours=1), capacity=5
    )
    r = _post(
        client,
        "/api/v1/appointments",
        {"window": window.pk, "household": household.pk, "quantity": 1},
        **bearer(outsider),
    )
    assert r.status_code == 404
    assert not Order.objects.exists() and not window.bookings.exists()


def test_sign_off_does_not_redirect_off_site(client, open_buy, head, household, building):
    services.order_place(actor="h", group_buy=open_buy, household=household, quantities={item_ids(open_buy)[0]: 1})
    services.group_buy_close(actor=head, group_buy=open_buy)
    services.group_buy_arrive(
        actor=head,
        group_buy=open_buy,
        vehicle_plate="沪A1",
        driver_name="王",
        arrived_at=timezone.now() - dt.timedelta(hours=2),
    )
    services.group_buy_disinfect(
        actor=head, group_buy=open_buy, disinfected_at=timezone.now() - dt.timedelta(hours=1), confirm_backdated=True
    )
    client.force_login(head)
    r = client.post(
        reverse("supplies:building_deliver", args=[open_buy.pk, building.pk]), {"next": "https://evil.example/x"}
    )
    assert r.status_code == 302
    assert r["Location"].startswith(reverse("supplies:sorting", args=[open_buy.pk]))
    assert open_buy.deliveries.filter(building=building).exists()


# State machine through the API -------------------------------------------------------------


def test_api_refuses_orders_once_closed_and_before_opening(
    client, open_buy, make_group_buy, leader, head, household, link_token
):
    services.group_buy_close(actor=head, group_buy=open_buy)
    body = {"token": link_token(household), "items": [{"item": item_ids(open_buy)[0], "quantity": 1}]}
    r = _post(client, f"/api/v1/group-buys/{open_buy.pk}/orders", body)
    assert r.status_code == 422 and "已截单" in r.json()["errors"][0]["message"]
    proposed = make_group_buy(leader, category="meat", title="猪肉")
    body["items"] = [{"item": item_ids(proposed)[0], "quantity": 1}]
    r = _post(client, f"/api/v1/group-buys/{proposed.pk}/orders", body)
    assert r.status_code == 422 and "待比选" in r.json()["errors"][0]["message"]
    assert not Order.objects.exists()


def test_no_opening_once_the_leader_is_suspended_even_if_selected(
    make_group_buy, leader, head, committee_mode, neighbourhood
):
    gb = make_group_buy(leader)
    services.group_buy_pick(actor=head, group_buy=gb)
    later = timezone.now() + dt.timedelta(days=120)  # the documents (90 days) have expired
    import time_machine

    with time_machine.travel(later, tick=False), pytest.raises(ValidationError, match="过期"):
        services.group_buy_open(actor=head, group_buy=gb)
    gb.refresh_from_db()
    assert gb.status == S.SELECTED


def test_a_household_cannot_pile_up_leader_applications(make_leader, household, head):
    make_leader(household, approve=False)
    with pytest.raises(ValidationError, match="不能重复申请"):
        make_leader(household, approve=False)
    assert GroupBuyLeader.objects.filter(household=household).count() == 1


def test_a_rejected_household_may_apply_again(make_leader, household, head):
    first = make_leader(household, approve=False)
    services.leader_review(actor=head, leader=first, approve=False, reason="证件模糊")
    assert make_leader(household, approve=False).pk != first.pk


# Bad input ---------------------------------------------------------------------------------


def test_service_bounds_huge_ids_and_quantities(open_buy, household):
    veg, _ = item_ids(open_buy)
    for bad in ({2**64: 1}, {veg: 2**40}, {-5: 1}):
        with pytest.raises(ValidationError) as exc:
            services.order_place(actor="h", group_buy=open_buy, household=household, quantities=bad)
        assert "items" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.order_place(
            actor="h", group_buy=open_buy, household=household, quantities={veg: 1}, idempotency_key="a\x00b"
        )
    assert "idempotency_key" in exc.value.message_dict


# Query counts ------------------------------------------------------------------------------


def _orders(open_buy, buildings, n, start):
    veg, eggs = item_ids(open_buy)
    for i in range(n):
        for b in buildings:
            h = places.household_create(actor=None, building=b, unit="3", room=str(start + i))
            services.order_place(actor="h", group_buy=open_buy, household=h, quantities={veg: 1, eggs: 1})


def test_order_and_sorting_pages_do_not_grow_queries_with_orders(
    client, open_buy, building, building2, head, django_assert_max_num_queries
):
    _orders(open_buy, [building, building2], 15, 100)
    client.force_login(head)
    pages = {
        reverse("supplies:index"): 12,
        reverse("supplies:group_buy", args=[open_buy.pk]): 20,
        reverse("supplies:sorting", args=[open_buy.pk]): 18,
        f"/api/v1/group-buys/{open_buy.pk}/sorting": 13,
        "/api/v1/group-buys": 8,
    }
    for url, most in pages.items():
        with django_assert_max_num_queries(most):
            assert client.get(url).status_code == 200


def test_checklist_leaves_out_delivered_group_buys(
    client, open_buy, head, household, building, make_user, django_assert_max_num_queries
):
    services.order_place(actor="h", group_buy=open_buy, household=household, quantities={item_ids(open_buy)[0]: 1})
    services.group_buy_close(actor=head, group_buy=open_buy)
    services.group_buy_arrive(
        actor=head,
        group_buy=open_buy,
        vehicle_plate="沪A1",
        driver_name="王",
        arrived_at=timezone.now() - dt.timedelta(hours=2),
    )
    services.group_buy_disinfect(
        actor=head, group_buy=open_buy, disinfected_at=timezone.now() - dt.timedelta(hours=1), confirm_backdated=True
    )
    volunteer = make_user(Role.VOLUNTEER, building)
    assert [e["group_buy"].pk for e in selectors.delivery_checklist(user=volunteer)] == [open_buy.pk]
    services.building_deliver(actor=volunteer, group_buy=open_buy, building=building)
    open_buy.refresh_from_db()
    assert open_buy.status == S.DELIVERED
    assert selectors.delivery_checklist(user=volunteer) == []
    client.force_login(volunteer)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("supplies:checklist")).status_code == 200


# The order path's locking ------------------------------------------------------------------


def test_a_retry_after_closing_is_answered_with_the_first_order(client, open_buy, household, head, link_token):
    url = f"/api/v1/group-buys/{open_buy.pk}/orders"
    body = {
        "token": link_token(household),
        "items": [{"item": item_ids(open_buy)[0], "quantity": 1}],
        "idempotency_key": "k1",
    }
    first = _post(client, url, body)
    services.group_buy_close(actor=head, group_buy=open_buy)
    again = _post(client, url, body)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = _post(client, url, {**body, "idempotency_key": "k2"})
    assert other.status_code == 422
    assert Order.objects.count() == 1


def test_a_retry_after_the_limit_is_reached_is_answered_with_the_first_order(open_buy, household):
    veg, _ = item_ids(open_buy)  # 每户限购2
    first, _ = services.order_place(
        actor="h", group_buy=open_buy, household=household, quantities={veg: 2}, idempotency_key="a"
    )
    again, created = services.order_place(
        actor="h", group_buy=open_buy, household=household, quantities={veg: 2}, idempotency_key="a"
    )
    assert (again.pk, created) == (first.pk, False)
    with pytest.raises(ValidationError, match="每户限购2"):
        services.order_place(
            actor="h", group_buy=open_buy, household=household, quantities={veg: 1}, idempotency_key="b"
        )


def test_sold_out_names_what_is_left(make_group_buy, leader, head, committee_mode, household, household2):
    gb = make_group_buy(
        leader, items=[{"name": "米", "unit_price": "50", "total_quantity": 3}, {"name": "油", "unit_price": "80"}]
    )
    services.group_buy_pick(actor=head, group_buy=gb)
    gb = services.group_buy_open(actor=head, group_buy=gb)
    rice, oil = item_ids(gb)
    services.order_place(actor="h", group_buy=gb, household=household, quantities={rice: 2, oil: 5})
    with pytest.raises(services.SoldOutError, match="米只剩1份"):
        services.order_place(actor="h", group_buy=gb, household=household2, quantities={rice: 2, oil: 1})
    assert [i.ordered_quantity for i in gb.items.order_by("id")] == [2, 5]


@pytest.mark.django_db(transaction=True)
def test_no_order_commits_after_the_close(make_group_buy, make_leader, head, neighbourhood, building):
    """Orders race a close: once the close has committed, no order is added."""
    import threading
    import time

    from django.db import connection, connections

    from jiayuan.supplies.models import GroupBuyItem

    if connection.vendor != "postgresql":
        pytest.skip("needs real concurrent connections (PostgreSQL)")
    settings = services.settings_for(neighbourhood.pk)
    settings.selection_mode = "committee"
    settings.save()
    homes = [places.household_create(actor=None, building=building, unit="5", room=str(100 + n)) for n in range(12)]
    gb = make_group_buy(make_leader(homes[0]), items=[{"name": "米", "unit_price": "50"}])
    services.group_buy_pick(actor=head, group_buy=gb)
    gb = services.group_buy_open(actor=head, group_buy=gb)
    (rice,) = item_ids(gb)
    barrier = threading.Barrier(len(homes) + 1)
    after_close: dict[str, int] = {}
    errors: list[Exception] = []

    def orders(h):
        try:
            barrier.wait()
            while True:
                try:
                    services.order_place(actor="h", group_buy=gb, household=h, quantities={rice: 1})
                except ValidationError as exc:
                    assert "已截单" in str(exc)
                    return
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def close():
        try:
            barrier.wait()
            time.sleep(0.3)
            services.group_buy_close(actor=head, group_buy=gb)
            after_close["orders"] = Order.objects.filter(group_buy=gb).count()
            after_close["ordered"] = GroupBuyItem.objects.get(pk=rice).ordered_quantity
        finally:
            connections.close_all()

    threads = [threading.Thread(target=orders, args=(h,)) for h in homes] + [threading.Thread(target=close)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert after_close["orders"] > 0
    assert Order.objects.filter(group_buy=gb).count() == after_close["orders"]
    assert GroupBuyItem.objects.get(pk=rice).ordered_quantity == after_close["ordered"] == after_close["orders"]
