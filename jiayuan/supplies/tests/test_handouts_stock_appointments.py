"""Handout rounds, donations and stock, scarce-item appointments."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from jiayuan.places import services as places
from jiayuan.supplies import selectors, services
from jiayuan.supplies.models import Booking, StockItem, StockMovement

pytestmark = pytest.mark.django_db


def test_handout_per_household_lists_who_is_still_missing(
    head, neighbourhood, household, household2, building, building2
):
    rnd = services.handout_round_create(
        actor=head, neighbourhood=neighbourhood, title="第一批政府保供包", package="米面油肉蛋"
    )
    services.handout_mark_received(actor=head, round=rnd, household=household)
    with pytest.raises(ValidationError, match="已经登记"):
        services.handout_mark_received(actor=head, round=rnd, household=household)
    blocks = {b["building"].pk: b for b in selectors.handout_progress(user=head, round=rnd)}
    assert (blocks[building.pk]["expected"], blocks[building.pk]["received"]) == (1, 1)
    assert blocks[building.pk]["missing"] == []
    assert [m["household"].pk for m in blocks[building2.pk]["missing"]] == [household2.pk]
    services.handout_mark_received(actor=head, round=rnd, household=household2)
    assert all(not b["missing"] for b in selectors.handout_progress(user=head, round=rnd))


def test_handout_per_person_counts_residents_present(head, neighbourhood, household, make_resident):
    a = make_resident(household, name="甲")
    b = make_resident(household, name="乙")
    make_resident(household, name="丙", presence="away")
    rnd = services.handout_round_create(
        actor=head, neighbourhood=neighbourhood, title="抗原", package="抗原试剂", unit="person"
    )
    with pytest.raises(ValidationError):
        services.handout_mark_received(actor=head, round=rnd, household=household)
    services.handout_mark_received(actor=head, round=rnd, household=household, resident=a)
    (block,) = selectors.handout_progress(user=head, round=rnd)
    assert (block["expected"], block["received"]) == (2, 1)
    assert [m["resident"].pk for m in block["missing"]] == [b.pk]


def test_donation_goes_into_stock_and_issues_come_out(head, neighbourhood, household):
    services.donation_record(
        actor=head,
        neighbourhood=neighbourhood,
        donor="某爱心企业",
        lines=[{"name": "口罩", "unit": "只", "quantity": 500}, {"name": "消毒液", "unit": "瓶", "quantity": 20}],
    )
    mask = StockItem.objects.get(name="口罩")
    assert mask.quantity == 500
    services.stock_issue(actor=head, stock_item=mask, quantity=120, recipient="志愿者小张")
    services.stock_issue(actor=head, stock_item=mask, quantity=30, to_household=household)
    mask.refresh_from_db()
    assert mask.quantity == 350
    assert list(StockMovement.objects.filter(stock_item=mask).order_by("id").values_list("delta", "balance")) == [
        (500, 500),
        (-120, 380),
        (-30, 350),
    ]


def test_stock_never_goes_negative(head, neighbourhood):
    services.donation_record(
        actor=head, neighbourhood=neighbourhood, donor="居民", lines=[{"name": "酒精", "quantity": 3}]
    )
    item = StockItem.objects.get(name="酒精")
    with pytest.raises(services.SoldOutError, match="库存不足"):
        services.stock_issue(actor=head, stock_item=item, quantity=4, recipient="x")
    # And the database refuses it even if someone bypasses the service.
    with pytest.raises(IntegrityError), transaction.atomic():
        StockItem.objects.filter(pk=item.pk).update(quantity=-1)


def test_low_stock_warning(head, neighbourhood):
    services.donation_record(
        actor=head, neighbourhood=neighbourhood, donor="居民", lines=[{"name": "口罩", "quantity": 10}]
    )
    item = StockItem.objects.get(name="口罩")
    services.stock_set_threshold(actor=head, stock_item=item, low_threshold=20)
    item.refresh_from_db()
    assert item.is_low


@pytest.fixture
def window(head, neighbourhood):
    campaign = services.campaign_create(
        actor=head, neighbourhood=neighbourhood, title="口罩预约", item_name="口罩", quota_per_household=5
    )
    start = timezone.now() + dt.timedelta(hours=2)
    return services.window_create(
        actor=head,
        campaign=campaign,
        place="居委会门口",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        capacity=2,
    )


def test_booking_gets_a_unique_readable_voucher(window, household, household2, head):
    b1 = services.booking_create(actor="h", window=window, household=household, quantity=5)
    b2 = services.booking_create(actor=head, window=window, household=household2, quantity=2, mode="proxy")
    assert b1.voucher != b2.voucher
    date = timezone.localtime(window.starts_at).strftime("%Y%m%d")
    assert b1.voucher == f"KZ{date}-{window.pk:03d}-0001"
    assert b2.mode == "proxy"
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(
            neighbourhood_id=b1.neighbourhood_id,
            campaign_id=b1.campaign_id,
            window=window,
            household=household2,
            building_id=household2.building_id,
            quantity=1,
            voucher=b1.voucher,
        )


def test_no_double_booking_and_quota_and_capacity(window, household, household2, building, head):
    with pytest.raises(ValidationError, match="限约5"):
        services.booking_create(actor="h", window=window, household=household, quantity=6)
    services.booking_create(actor="h", window=window, household=household, quantity=5)
    with pytest.raises(ValidationError, match="重复"):
        services.booking_create(actor="h", window=window, household=household, quantity=1)
    services.booking_create(actor="h", window=window, household=household2, quantity=1)
    h3 = places.household_create(actor=None, building=building, room="999")
    with pytest.raises(services.SoldOutError, match="约满"):
        services.booking_create(actor="h", window=window, household=h3, quantity=1)


def test_collecting_a_voucher_twice_is_refused(window, household, head):
    booking = services.booking_create(actor="h", window=window, household=household, quantity=1)
    services.booking_collect(actor=head, booking=booking)
    with pytest.raises(ValidationError):
        services.booking_collect(actor=head, booking=booking)


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_respect_capacity(head, neighbourhood, building):
    if connection.vendor != "postgresql":
        pytest.skip("needs real concurrent connections (PostgreSQL)")
    campaign = services.campaign_create(
        actor=head, neighbourhood=neighbourhood, title="口罩", item_name="口罩", quota_per_household=5
    )
    start = timezone.now() + dt.timedelta(hours=1)
    window = services.window_create(
        actor=head, campaign=campaign, place="门口", starts_at=start, ends_at=start + dt.timedelta(hours=1), capacity=7
    )
    households = [places.household_create(actor=None, building=building, room=str(500 + n)) for n in range(20)]
    barrier = threading.Barrier(len(households) + 1)

    def book(h):
        try:
            barrier.wait()
            services.booking_create(actor="h", window=window, household=h, quantity=1)
        except ValidationError:
            pass
        finally:
            connections.close_all()

    # The same household twice at once too: still one booking.
    threads = [threading.Thread(target=book, args=(h,)) for h in [*households, households[0]]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Booking.objects.filter(window=window).count() == 7
    assert len(set(Booking.objects.values_list("voucher", flat=True))) == 7
    window.refresh_from_db()
    assert window.booked == 7
