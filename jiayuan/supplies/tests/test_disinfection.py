"""Arrival → disinfection → rest → release at the gate (issue 15): a disinfection time before the
arrival is a field error; a time far back, which cuts the rest short, needs explicit confirmation;
release before the rest is over is refused, with no override."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from jiayuan.core.audit import AuditEvent
from jiayuan.supplies import services
from jiayuan.supplies.models import GroupBuy
from jiayuan.supplies.tests.conftest import item_ids

T0 = dt.datetime(2030, 4, 10, 2, 0, 40, tzinfo=dt.UTC)  # 10:00:40 in Shanghai


@pytest.fixture
def arrived(open_buy, head, household):
    services.order_place(actor="h", group_buy=open_buy, household=household, quantities={item_ids(open_buy)[0]: 1})
    with time_machine.travel(T0, tick=False):
        services.group_buy_close(actor=head, group_buy=open_buy)
        return services.group_buy_arrive(actor=head, group_buy=open_buy, vehicle_plate="沪A1", driver_name="王")


def test_disinfection_before_arrival_is_a_field_error_naming_the_arrival(arrived, head):
    with time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False), pytest.raises(ValidationError) as exc:
        services.group_buy_disinfect(actor=head, group_buy=arrived, disinfected_at=T0 - dt.timedelta(minutes=1))
    assert exc.value.message_dict["disinfected_at"] == ["消杀时间不能早于到货时间(到货 04-10 10:00)"]
    assert GroupBuy.objects.get(pk=arrived.pk).status == "arrived"


def test_disinfection_in_the_arrival_minute_is_accepted(arrived, head):
    """The form has no seconds: 10:00 for goods that arrived at 10:00:40 is not 'before'."""
    with time_machine.travel(T0 + dt.timedelta(minutes=2), tick=False):
        gb = services.group_buy_disinfect(actor=head, group_buy=arrived, disinfected_at=T0.replace(second=0))
    assert gb.status == "disinfected"


def test_a_time_far_back_needs_confirmation_then_is_audited_as_confirmed(arrived, head):
    later = T0 + dt.timedelta(minutes=50)
    with time_machine.travel(later, tick=False):
        with pytest.raises(ValidationError) as exc:
            services.group_buy_disinfect(actor=head, group_buy=arrived, disinfected_at=T0)
        message = exc.value.message_dict["disinfected_at"][0]
        assert "早于现在50分钟" in message and "10:30 结束" in message and "确认消杀时间属实" in message
        gb = services.group_buy_disinfect(actor=head, group_buy=arrived, disinfected_at=T0, confirm_backdated=True)
    assert gb.ready_at == T0 + dt.timedelta(minutes=30)
    event = AuditEvent.objects.get(action="supplies.group_buy_disinfect")
    assert event.changes["backdated_confirmed"] is True


def test_a_time_that_shortens_the_rest_says_how_much_is_left(arrived, head):
    with time_machine.travel(T0 + dt.timedelta(minutes=20), tick=False), pytest.raises(ValidationError) as exc:
        services.group_buy_disinfect(actor=head, group_buy=arrived, disinfected_at=T0)
    assert "只剩11分钟" in exc.value.message_dict["disinfected_at"][0]


def test_a_few_minutes_back_is_accepted_without_confirmation(arrived, head):
    with time_machine.travel(T0 + dt.timedelta(minutes=8), tick=False):
        gb = services.group_buy_disinfect(actor=head, group_buy=arrived, disinfected_at=T0)
    assert gb.status == "disinfected"
    assert "backdated_confirmed" not in AuditEvent.objects.get(action="supplies.group_buy_disinfect").changes


def test_release_before_the_rest_is_over_is_refused_without_override(arrived, head, building):
    with time_machine.travel(T0 + dt.timedelta(minutes=1), tick=False):
        gb = services.group_buy_disinfect(actor=head, group_buy=arrived)
    with time_machine.travel(T0 + dt.timedelta(minutes=12), tick=False):
        with pytest.raises(ValidationError, match=r"10:31 之后才能分拣和送货\(还需约20分钟\)"):
            services.group_buy_sort(actor=head, group_buy=gb)
        with pytest.raises(ValidationError, match="还在静置"):
            services.building_deliver(actor=head, group_buy=gb, building=building)
    with time_machine.travel(T0 + dt.timedelta(minutes=32), tick=False):
        assert services.group_buy_sort(actor=head, group_buy=gb).status == "sorted"


def test_the_gate_page_shows_the_error_beside_the_time_and_keeps_the_input(client, arrived, head):
    url = reverse("supplies:group_buy_action", args=[arrived.pk, "disinfect"])
    with time_machine.travel(T0 + dt.timedelta(minutes=5), tick=True):
        client.force_login(head)  # signed in in 2030, so the session is fresh then
        r = client.post(url, {"disinfected_at": "2030-04-10T09:50"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "消杀时间不能早于到货时间" in html and 'value="2030-04-10T09:50"' in html
    with time_machine.travel(T0 + dt.timedelta(minutes=50), tick=True):
        r = client.post(url, {"disinfected_at": "2030-04-10T10:01"})
        assert r.status_code == 200 and "确认消杀时间属实" in r.content.decode()
        r = client.post(url, {"disinfected_at": "2030-04-10T10:01", "confirm_backdated": "on"})
    assert r.status_code == 302
    assert GroupBuy.objects.get(pk=arrived.pk).ready_at == timezone.make_aware(dt.datetime(2030, 4, 10, 10, 31))


def test_the_arrival_form_shows_a_bad_driver_phone_beside_the_field(client, open_buy, head):
    services.group_buy_close(actor=head, group_buy=open_buy)
    client.force_login(head)
    r = client.post(
        reverse("supplies:group_buy_action", args=[open_buy.pk, "arrive"]),
        {"vehicle_plate": "沪A1", "driver_name": "王", "driver_phone": "1390000222"},
    )
    assert r.status_code == 200 and "手机号码应为11位(当前10位)" in r.content.decode()
    assert GroupBuy.objects.get(pk=open_buy.pk).status == "closed"


def test_shortening_the_rest_warns_that_resting_goods_keep_their_time(client, arrived, head, neighbourhood):
    with time_machine.travel(T0 + dt.timedelta(minutes=1), tick=False):
        gb = services.group_buy_disinfect(actor=head, group_buy=arrived)
    client.force_login(head)
    r = client.post(
        reverse("supplies:settings"),
        {"selection_mode": "committee", "rest_minutes": "5", "daily_limit_per_category": "1"},
        follow=True,
    )
    assert "只对之后登记的消杀生效" in r.content.decode()
    assert GroupBuy.objects.get(pk=gb.pk).ready_at == gb.ready_at  # the goods already resting keep theirs
