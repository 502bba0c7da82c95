"""One rule for every "come and pick up": control's ``household_may_go_out`` decides whether a
household may go out to collect something; group-buy pick-up, scarce-item bookings and their
collection all ask it (issue 15)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from jiayuan.control.models import Case, Quarantine, ZoneOverride
from jiayuan.control.selectors import household_may_go_out
from jiayuan.core.audit import AuditEvent
from jiayuan.supplies import services
from jiayuan.supplies.models import Booking
from jiayuan.supplies.tests.conftest import item_ids


def seal(building):
    return ZoneOverride.objects.create(
        neighbourhood_id=building.neighbourhood_id,
        building=building,
        level="sealed",
        reason="测试封控",
        expires_at=timezone.now() + dt.timedelta(days=7),
    )


def home_quarantine(household, kind="home", start_on=None):
    today = timezone.localdate()
    return Quarantine.objects.create(
        neighbourhood_id=household.neighbourhood_id,
        building_id=household.building_id,
        household=household,
        kind=kind,
        reason="close_contact",
        start_on=start_on or today,
        days=7,
        planned_end=(start_on or today) + dt.timedelta(days=7),
    )


@pytest.fixture
def window(head, neighbourhood):
    campaign = services.campaign_create(
        actor=head, neighbourhood=neighbourhood, title="抗原预约", item_name="抗原试剂", quota_per_household=5
    )
    now = timezone.now()
    return services.window_create(
        actor=head,
        campaign=campaign,
        place="居委会",
        starts_at=now + dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=3),
        capacity=10,
    )


# The decision ---------------------------------------------------------------------------------


def test_a_household_in_an_ordinary_building_may_go_out(household):
    assert household_may_go_out(household) == (True, "")


def test_a_sealed_building_keeps_its_households_in(household, household2, building):
    seal(building)
    may, reason = household_may_go_out(household)
    assert not may and "封控区" in reason and "送货上门" in reason
    assert household_may_go_out(household2)[0]  # the other building is not sealed


@pytest.mark.parametrize("kind", ["home", "home_monitoring"])
def test_home_quarantine_or_monitoring_keeps_the_household_in(household, kind):
    home_quarantine(household, kind=kind)
    may, reason = household_may_go_out(household)
    assert not may and "居家隔离" in reason


def test_centralised_or_future_quarantine_does_not(household):
    home_quarantine(household, kind="centralised")  # the person is away, not the household kept in
    home_quarantine(household, start_on=timezone.localdate() + dt.timedelta(days=2))
    assert household_may_go_out(household)[0]


def test_a_case_waiting_at_home_keeps_the_household_in(household, make_resident):
    resident = make_resident(household, name="阳阳")
    today = timezone.localdate()
    Case.objects.create(
        neighbourhood_id=household.neighbourhood_id,
        building_id=household.building_id,
        compound_id=household.building.compound_id,
        household=household,
        resident=resident,
        detected_on=today,
        source="pcr_round",
        status="at_home",
        status_on=today,
    )
    may, reason = household_may_go_out(household)
    assert not may and "阳性" in reason


# Group-buy pick-up ----------------------------------------------------------------------------


def test_group_buy_pickup_is_refused_under_home_quarantine_delivery_accepted(open_buy, household):
    home_quarantine(household)
    veg, _egg = item_ids(open_buy)
    with pytest.raises(ValidationError) as exc:
        services.order_place(
            actor="h", group_buy=open_buy, household=household, quantities={veg: 1}, delivery_mode="pickup"
        )
    assert "居家隔离" in exc.value.message_dict["delivery_mode"][0]
    order, created = services.order_place(
        actor="h", group_buy=open_buy, household=household, quantities={veg: 1}, delivery_mode="door"
    )
    assert created and order.delivery_mode == "door"


def test_sealed_household_order_page_offers_delivery_only_with_the_reason(client, open_buy, household, link_token):
    seal(household.building)
    html = client.get(reverse("supplies_household:order", args=[link_token(household), open_buy.pk])).content.decode()
    assert 'value="pickup"' not in html and "封控区" in html


# Scarce-item bookings -------------------------------------------------------------------------


def test_booking_to_collect_in_person_is_refused_for_a_sealed_household(window, household, head):
    seal(household.building)
    with pytest.raises(ValidationError) as exc:
        services.booking_create(actor=head, window=window, household=household, quantity=2, mode="pickup")
    assert "封控区" in exc.value.message_dict["mode"][0]
    window.refresh_from_db()
    assert window.booked == 0  # a refused booking takes no place in the window
    booking = services.booking_create(actor=head, window=window, household=household, quantity=2, mode="proxy")
    assert booking.mode == "proxy"


def test_household_page_offers_only_proxy_booking_with_the_reason(client, window, household, link_token):
    home_quarantine(household)
    token = link_token(household)
    html = client.get(reverse("supplies_household:home", args=[token])).content.decode()
    assert 'value="pickup"' not in html and 'value="proxy"' in html and 'id="go-out-reason"' in html
    # A hand-made POST asking to collect in person is refused with the reason.
    r = client.post(reverse("supplies_household:book", args=[token, window.pk]), {"quantity": 1, "mode": "pickup"})
    assert r.status_code == 302
    assert not Booking.objects.exists()
    html = client.get(reverse("supplies_household:home", args=[token])).content.decode()
    assert "居家隔离" in html


def test_staff_booking_for_a_sealed_household_shows_a_field_error(client, window, household, head):
    seal(household.building)
    client.force_login(head)
    r = client.post(
        reverse("supplies:campaign", args=[window.campaign_id]),
        {
            "form": "book",
            "window": window.pk,
            "building": household.building_id,
            "unit": household.unit,
            "room": household.room,
            "quantity": 1,
            "mode": "pickup",
        },
    )
    assert r.status_code == 200
    assert "封控区" in r.content.decode()
    assert not Booking.objects.exists()


def test_collecting_in_person_after_the_building_was_sealed_needs_a_proxy(client, window, household, head):
    booking = services.booking_create(actor=head, window=window, household=household, quantity=1, mode="pickup")
    seal(household.building)
    with pytest.raises(ValidationError) as exc:
        services.booking_collect(actor=head, booking=booking)
    assert "代领" in exc.value.message_dict["mode"][0]
    client.force_login(head)
    client.post(reverse("supplies:booking_collect", args=[booking.pk]), {"by_proxy": "1"})
    booking.refresh_from_db()
    assert booking.collected_at is not None and booking.mode == "proxy"
    event = AuditEvent.objects.filter(action="supplies.booking_collect").get()
    assert event.changes == {"mode": ["pickup", "proxy"]}
