"""Scope: who sees which group buys, leaders, orders; forbidden objects are 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from jiayuan.accounts.services import api_token_create
from jiayuan.core.permissions import Role
from jiayuan.places import services as places
from jiayuan.supplies import selectors, services
from jiayuan.supplies.tests.conftest import item_ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_compound_buy(neighbourhood, make_leader, make_group_buy):
    compound = places.compound_create(actor=None, neighbourhood=neighbourhood, name="红御苑")
    b = places.building_create(actor=None, compound=compound, number="9")
    h = places.household_create(actor=None, building=b, room="101")
    return make_group_buy(make_leader(h, name="丙团长"), title="红御苑蔬菜")


def test_volunteer_sees_only_their_compounds_group_buys(client, open_buy, other_compound_buy, building, make_user):
    volunteer = make_user(Role.VOLUNTEER, building)
    assert [g.pk for g in selectors.group_buy_list(user=volunteer)] == [open_buy.pk]
    client.force_login(volunteer)
    assert client.get(reverse("supplies:group_buy", args=[open_buy.pk])).status_code == 200
    assert client.get(reverse("supplies:group_buy", args=[other_compound_buy.pk])).status_code == 404


def test_committee_sees_every_compound_of_its_neighbourhood(open_buy, other_compound_buy, head):
    assert {g.pk for g in selectors.group_buy_list(user=head)} == {open_buy.pk, other_compound_buy.pk}


def test_leaders_of_another_neighbourhood_are_invisible(client, leader, make_user, other_neighbourhood, neighbourhood):
    outsider = make_user(Role.OWNERS_COMMITTEE, other_neighbourhood)
    assert not selectors.leader_list(user=outsider).exists()
    client.force_login(outsider)
    assert client.get(reverse("supplies:leader", args=[leader.pk])).status_code == 404
    owners = make_user(Role.OWNERS_COMMITTEE, neighbourhood)
    assert list(selectors.leader_list(user=owners)) == [leader]


def test_only_reviewers_may_review(client, make_leader, household2, building, make_user):
    pending = make_leader(household2, approve=False)
    client.force_login(make_user(Role.BUILDING_LEADER, building))
    r = client.post(reverse("supplies:leader_review", args=[pending.pk]), {"decision": "approve"})
    assert r.status_code == 404
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_orders_list_of_a_building_leader_is_their_building(open_buy, household, household2, building, make_user):
    veg, _ = item_ids(open_buy)
    services.order_place(actor="h", group_buy=open_buy, household=household, quantities={veg: 1})
    services.order_place(actor="h", group_buy=open_buy, household=household2, quantities={veg: 1})
    orders = selectors.order_list(user=make_user(Role.BUILDING_LEADER, building), group_buy=open_buy)
    assert [o.household_id for o in orders] == [household.pk]


def test_street_officer_sees_no_group_buys_in_the_api(client, open_buy, make_user, street):
    officer = make_user(Role.STREET_OFFICER, street)
    _token, key = api_token_create(actor=None, user=officer)
    r = client.get("/api/v1/group-buys", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert r.status_code == 200 and r.json()["count"] == 0


def test_sealed_household_order_form_offers_door_delivery_only(client, open_buy, household, link_token, monkeypatch):
    from jiayuan.control import selectors as control_selectors

    monkeypatch.setattr(control_selectors, "zone_levels", lambda building_ids: dict.fromkeys(building_ids, "sealed"))
    html = client.get(reverse("supplies_household:order", args=[link_token(household), open_buy.pk])).content.decode()
    assert "封控区" in html and "送货上门" in html
    assert 'value="pickup"' not in html
