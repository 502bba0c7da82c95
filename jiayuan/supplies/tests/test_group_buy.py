"""A group buy's life: bidding, voting or committee pick, the daily limit, arrival, disinfection,
the rest time, sorting, delivery sign-off, complaints."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from jiayuan.core.models import AuditEvent
from jiayuan.places import services as places
from jiayuan.supplies import selectors, services
from jiayuan.supplies.choices import Category, GroupBuyStatus
from jiayuan.supplies.models import GroupBuy
from jiayuan.supplies.tests.conftest import item_ids

pytestmark = pytest.mark.django_db
S = GroupBuyStatus


@pytest.fixture
def rivals(make_leader, make_group_buy, household, household2):
    a = make_group_buy(make_leader(household, name="甲团长"), supplier="江桥批发", brand="崇明")
    cheaper = [{"name": "蔬菜包", "unit": "份", "unit_price": "58.00", "per_household_limit": 2}]
    b = make_group_buy(make_leader(household2, name="乙团长"), supplier="西郊国际", brand="光明", items=cheaper)
    return a, b


def test_bidding_shows_same_category_and_day_side_by_side(rivals, make_group_buy, head):
    a, b = rivals
    make_group_buy(a.leader, category=Category.MEAT, title="猪肉")  # another category: another group
    groups = selectors.bidding_groups(user=head)
    veg = next(g for g in groups if g["key"] == a.bidding_key)
    assert [p.pk for p in veg["proposals"]] == [a.pk, b.pk]
    assert [p.supplier for p in veg["proposals"]] == ["江桥批发", "西郊国际"]
    assert veg["proposals"][1].items.all()[0].unit_price == 58
    assert veg["proposals"][0].documents_valid_until is not None
    assert len(groups) == 2


def test_households_vote_once_and_the_most_votes_win(rivals, household, household2, head, building, neighbourhood):
    a, b = rivals
    h3 = places.household_create(actor=None, building=building, unit="1", room="302")
    services.vote_cast(actor="h", household=household, group_buy=b)
    services.vote_cast(actor="h", household=household2, group_buy=b)
    services.vote_cast(actor="h", household=h3, group_buy=a)
    with pytest.raises(ValidationError, match="已经投过"):
        services.vote_cast(actor="h", household=household, group_buy=a)
    assert services.vote_tally(a) == {a.pk: 1, b.pk: 2}
    services.bidding_close_vote(actor=head, group_buy=a)
    a.refresh_from_db()
    b.refresh_from_db()
    assert (b.status, b.selected_by, b.votes_received) == (S.SELECTED, "vote", 2)
    assert a.status == S.NOT_SELECTED
    assert AuditEvent.objects.filter(action="supplies.group_buy_select", object_id=str(b.pk)).exists()


def test_committee_picks_when_the_setting_says_so(rivals, head, committee_mode, household):
    a, b = rivals
    with pytest.raises(ValidationError, match="不需要投票"):
        services.vote_cast(actor="h", household=household, group_buy=a)
    services.group_buy_pick(actor=head, group_buy=a)
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, a.selected_by) == (S.SELECTED, "committee")
    assert b.status == S.NOT_SELECTED


def test_committee_pick_refused_in_vote_mode(rivals, head):
    with pytest.raises(ValidationError, match="投票"):
        services.group_buy_pick(actor=head, group_buy=rivals[0])


def test_daily_limit_per_category_per_compound(
    make_leader, make_group_buy, household, household2, head, committee_mode
):
    day = timezone.localdate() + dt.timedelta(days=2)
    first = make_group_buy(make_leader(household), day=day)
    services.group_buy_pick(actor=head, group_buy=first)
    services.group_buy_open(actor=head, group_buy=first)
    second = make_group_buy(make_leader(household2, name="乙"), day=day)
    services.group_buy_pick(actor=head, group_buy=second)
    with pytest.raises(ValidationError, match="已达上限"):
        services.group_buy_open(actor=head, group_buy=second)
    # Another category the same day is fine; so is raising the limit.
    meat = make_group_buy(first.leader, day=day, category=Category.MEAT)
    services.group_buy_pick(actor=head, group_buy=meat)
    assert services.group_buy_open(actor=head, group_buy=meat).status == S.OPEN
    committee_mode.daily_limit_per_category = 2
    committee_mode.save()
    assert services.group_buy_open(actor=head, group_buy=second).status == S.OPEN


def test_no_opening_when_the_leader_has_lapsed(make_leader, make_group_buy, household, head, committee_mode):
    with time_machine.travel(dt.datetime(2022, 4, 10, 9, tzinfo=dt.UTC)):
        leader = make_leader(household, permit_expires=dt.date(2022, 4, 11))
        gb = make_group_buy(leader, day=dt.date(2022, 4, 12))
        services.group_buy_pick(actor=head, group_buy=gb)
    with time_machine.travel(dt.datetime(2022, 4, 12, 9, tzinfo=dt.UTC)), pytest.raises(ValidationError, match="过期"):
        services.group_buy_open(actor=head, group_buy=gb)


def test_transitions_refuse_the_wrong_state(open_buy, head):
    with pytest.raises(ValidationError, match="已截单"):
        services.group_buy_arrive(actor=head, group_buy=open_buy, vehicle_plate="沪A", driver_name="王")
    with pytest.raises(ValidationError, match="已选定"):
        services.group_buy_open(actor=head, group_buy=open_buy)
    with pytest.raises(ValidationError, match="到货"):
        services.group_buy_disinfect(actor=head, group_buy=open_buy)


def test_full_life_with_rest_time_and_per_building_sign_off(open_buy, head, household, household2, building, building2):
    services.order_place(actor="h", group_buy=open_buy, household=household, quantities={item_ids(open_buy)[0]: 1})
    services.order_place(actor="h", group_buy=open_buy, household=household2, quantities={item_ids(open_buy)[1]: 2})
    t0 = dt.datetime(2030, 4, 10, 2, tzinfo=dt.UTC)
    with time_machine.travel(t0, tick=False):
        services.group_buy_close(actor=head, group_buy=open_buy)
        with pytest.raises(ValidationError):
            services.group_buy_arrive(actor=head, group_buy=open_buy, vehicle_plate="", driver_name="")
        gb = services.group_buy_arrive(
            actor=head,
            group_buy=open_buy,
            vehicle_plate="沪a12345",
            driver_name="王师傅",
            driver_phone="13900002222",
            arrival_note="蔬菜包 60 份",
        )
        assert (gb.status, gb.vehicle_plate, gb.driver_phone_masked) == (S.ARRIVED, "沪A12345", "139****2222")
        gb = services.group_buy_disinfect(actor=head, group_buy=gb)
        assert gb.ready_at == t0 + dt.timedelta(minutes=30)
        assert gb.effective_status == S.DISINFECTED
        with pytest.raises(ValidationError, match="静置"):
            services.group_buy_sort(actor=head, group_buy=gb)
        with pytest.raises(ValidationError, match="静置"):
            services.building_deliver(actor=head, group_buy=gb, building=building)
    with time_machine.travel(t0 + dt.timedelta(minutes=31), tick=False):
        gb = GroupBuy.objects.get(pk=gb.pk)
        assert gb.effective_status == "ready"
        assert [g.pk for g in selectors.group_buy_list(user=head, status="ready")] == [gb.pk]
        gb = services.group_buy_sort(actor=head, group_buy=gb)
        services.building_deliver(actor=head, group_buy=gb, building=building, bags=1)
        with pytest.raises(ValidationError, match="已经签收"):
            services.building_deliver(actor=head, group_buy=gb, building=building)
        gb.refresh_from_db()
        assert gb.status == S.SORTED
        services.building_deliver(actor=head, group_buy=gb, building=building2, bags=1)
        gb.refresh_from_db()
        assert gb.status == S.DELIVERED
    actions = set(AuditEvent.objects.filter(object_id=str(gb.pk)).values_list("action", flat=True))
    for step in ("open", "close", "arrive", "disinfect", "sort", "deliver"):
        assert f"supplies.group_buy_{step}" in actions


def test_rest_minutes_is_a_setting(open_buy, head, neighbourhood, committee_mode):
    committee_mode.rest_minutes = 45
    committee_mode.save()
    services.group_buy_close(actor=head, group_buy=open_buy)
    services.group_buy_arrive(actor=head, group_buy=open_buy, vehicle_plate="沪A1", driver_name="王")
    gb = services.group_buy_disinfect(actor=head, group_buy=open_buy)
    assert gb.ready_at - gb.disinfected_at == dt.timedelta(minutes=45)


def test_complaints_and_refunds_are_noted(open_buy, head, household):
    with pytest.raises(ValidationError):
        services.issue_record(actor=head, group_buy=open_buy, kind="complaint", text="菜不新鲜")
    services.group_buy_close(actor=head, group_buy=open_buy)
    services.issue_record(actor=head, group_buy=open_buy, kind="complaint", text="菜不新鲜", household=household)
    with pytest.raises(ValidationError) as exc:
        services.issue_record(actor=head, group_buy=open_buy, kind="refund", text="少了一盒蛋")
    assert "refund_amount" in exc.value.message_dict
    services.issue_record(actor=head, group_buy=open_buy, kind="refund", text="少了一盒蛋", refund_amount=25)
    assert open_buy.issues.count() == 2


def test_reject_and_cancel_need_a_reason(make_group_buy, leader, head):
    gb = make_group_buy(leader)
    with pytest.raises(ValidationError):
        services.group_buy_reject(actor=head, group_buy=gb, reason="")
    assert services.group_buy_reject(actor=head, group_buy=gb, reason="价格过高").status == S.REJECTED
    gb2 = make_group_buy(leader, category=Category.MEAT)
    assert services.group_buy_cancel(actor=head, group_buy=gb2, reason="供应商断货").status == S.CANCELLED
