""" "今天要做的事" on the home page: the extension point, what each role is given to do, counted
within the role's scope only, each row opening for that role, with a number of queries that does
not grow with the data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from jiayuan.control import services as control_services
from jiayuan.control.choices import QuarantineReason
from jiayuan.core import extensions
from jiayuan.core.extensions import TodayItem
from jiayuan.core.permissions import Role
from jiayuan.operations import services as operations_services
from jiayuan.places import services as places_services
from jiayuan.screening import services as screening_services
from jiayuan.screening.choices import AntigenResult, RoundKind
from jiayuan.supplies import services as supplies_services
from jiayuan.supplies.choices import Category
from jiayuan.supplies.tests.conftest import ITEMS, docs

# --- The extension point -------------------------------------------------------------------------


@pytest.fixture
def only(monkeypatch):
    """Empty the registry of today's rows for the test, whatever the apps registered."""
    monkeypatch.setattr(extensions, "_today", [])


def test_rows_bad_first_then_in_order_and_zero_counts_left_out(only, rf, head):
    extensions.today_item(lambda r: [TodayItem("后面", 2, "/b/"), TodayItem("没有", 0, "/z/")], order=20)
    extensions.today_item(lambda r: [TodayItem("前面", 1, "/a/"), TodayItem("无数字", None, "/n/")], order=10)
    extensions.today_item(lambda r: [TodayItem("阳性", 1, "/p/", "bad")], order=30)
    extensions.today_item(lambda r: None, order=5)
    request = rf.get("/")
    request.user = head
    assert [i.label for i in extensions.today_items(request)] == ["阳性", "前面", "无数字", "后面"]


def test_home_page_lists_rows_as_links_with_their_number(only, client, head):
    extensions.today_item(lambda r: [TodayItem("户到货待消杀", 3, "/supplies/?status=arrived", "warn")])
    client.force_login(head)
    page = client.get("/").content.decode()
    assert "今天要做的事" in page
    assert '<a class="today-item today-warn" href="/supplies/?status=arrived">' in page
    assert '<b class="today-count">3</b><span class="today-label">户到货待消杀</span>' in page
    assert page.index("今天要做的事") < page.index("重点人群")
    assert "今天暂无待办" not in page


def test_home_page_says_so_when_there_is_nothing_to_do(only, client, head):
    client.force_login(head)
    page = client.get("/").content.decode()
    assert "今天要做的事" in page and "今天暂无待办" in page


# --- A small neighbourhood with work in it -------------------------------------------------------


@pytest.fixture
def world(neighbourhood, compound, building, building2, make_resident, make_user, head):
    """Buildings 1 and 3 of 泰和苑 with people, a PCR round and an antigen round today, a
    quarantine in each building, a ready group buy with orders in both, one closed for today, one
    proposed, a handout round half done; and one user per role (the leader and the volunteer of building 1)."""
    building3 = places_services.building_create(actor=None, compound=compound, number="3", units=1, floors=6)
    other = places_services.compound_create(actor=None, neighbourhood=neighbourhood, name="红御苑")
    other_building = places_services.building_create(actor=None, compound=other, number="1", units=1, floors=6)
    today = timezone.localdate()
    w = {"today": today, "b1": building, "b3": building3, "other_building": other_building}
    w["h1"] = [
        places_services.household_create(actor=None, building=building, unit="1", room=r) for r in ("101", "102")
    ]
    w["h3"] = [
        places_services.household_create(actor=None, building=building3, unit="1", room=r) for r in ("101", "102")
    ]
    w["r1"] = [make_resident(h, name=f"一号{n}") for n, h in enumerate(w["h1"] * 2)]
    w["r3"] = [make_resident(h, name=f"三号{n}") for n, h in enumerate(w["h3"] * 2)]
    w["users"] = {
        "head": head,
        "staff": make_user(Role.COMMITTEE_STAFF, neighbourhood, username="staff"),
        "owners": make_user(Role.OWNERS_COMMITTEE, neighbourhood, username="owners"),
        "property": make_user(Role.PROPERTY_STAFF, neighbourhood, username="property"),
        "guard": make_user(Role.GATE_GUARD, compound, username="guard"),
        "leader": make_user(Role.BUILDING_LEADER, building, username="leader"),
        "volunteer": make_user(Role.VOLUNTEER, building, username="volunteer"),
        "leader3": make_user(Role.BUILDING_LEADER, building3, username="leader3"),
        "sampler": make_user(Role.SAMPLER, neighbourhood, username="sampler"),
        "street": make_user(Role.STREET_OFFICER, neighbourhood.street, username="street"),
    }
    w["pcr"] = screening_services.round_create(actor=head, neighbourhood=neighbourhood, date=today, pool_size=5)
    w["antigen"] = screening_services.round_create(
        actor=head, neighbourhood=neighbourhood, kind=RoundKind.ANTIGEN, date=today, pool_size=1
    )
    # Every member of household 1-101 reports; one of 1-102 does (the household is not complete).
    for r in (w["r1"][0], w["r1"][2], w["r1"][1]):
        screening_services.antigen_report_submit(actor=None, resident=r, date=today, result=AntigenResult.NEGATIVE)
    w["q1"] = control_services.quarantine_start(actor=None, reason=QuarantineReason.OTHER, resident=w["r1"][0])
    w["q3"] = control_services.quarantine_start(actor=None, reason=QuarantineReason.OTHER, resident=w["r3"][0])
    control_services.health_check_record(actor=None, quarantine=w["q3"], on=today, slot="morning", temperature="38.4")
    # Supplies: a ready group buy with orders in buildings 1 and 3, another closed and due today.
    settings = supplies_services.settings_for(neighbourhood.pk)
    settings.selection_mode = "committee"
    settings.save()
    gb_leader = supplies_services.leader_apply(
        actor=head, household=w["h1"][0], name="李团长", phone="13800001234", channel="叮咚", documents=docs()
    )
    supplies_services.leader_review(actor=head, leader=gb_leader, approve=True)
    w["ready"] = _group_buy(head, gb_leader, [*w["h1"], *w["h3"]], today, Category.VEGETABLES)
    now = timezone.now()
    supplies_services.group_buy_arrive(
        actor=head,
        group_buy=w["ready"],
        vehicle_plate="沪A12345",
        driver_name="王",
        arrived_at=now - dt.timedelta(hours=3),
    )
    supplies_services.group_buy_disinfect(
        actor=head, group_buy=w["ready"], disinfected_at=now - dt.timedelta(hours=2), confirm_backdated=True
    )
    w["due"] = _group_buy(head, gb_leader, w["h1"], today, Category.EGGS_MILK)
    supplies_services.group_buy_propose(
        actor=head,
        leader=gb_leader,
        title="下周蔬菜",
        category=Category.VEGETABLES,
        supplier="崇明",
        delivery_date=today + dt.timedelta(days=2),
        items=ITEMS,
    )
    w["handout"] = supplies_services.handout_round_create(
        actor=head, neighbourhood=neighbourhood, title="保供包", package="米面", compound=compound
    )
    supplies_services.handout_mark_received(actor=head, round=w["handout"], household=w["h1"][0])
    # Today's garbage collected everywhere: after the day's deadline (10:00 by default) a building
    # without a round is a row of its own, and these tests must not depend on the hour they run.
    for b in (building, building2, building3, other_building):
        operations_services.garbage_log(actor=head, building=b)
    return w


def _group_buy(head, gb_leader, households, day, category):
    gb = supplies_services.group_buy_propose(
        actor=head,
        leader=gb_leader,
        title=f"{category}团",
        category=category,
        supplier="江桥",
        delivery_date=day,
        items=ITEMS,
    )
    supplies_services.group_buy_pick(actor=head, group_buy=gb)
    supplies_services.group_buy_open(actor=head, group_buy=gb)
    item = gb.items.order_by("id").first()
    for h in households:
        supplies_services.order_place(actor="test", group_buy=gb, household=h, quantities={item.pk: 1})
    return supplies_services.group_buy_close(actor=head, group_buy=gb)


def rows(client, user) -> dict[str, TodayItem]:
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    return {str(item.label): item for item in response.context["today_list"]}


def test_the_leader_sees_the_work_of_their_own_building_only(client, world):
    got = rows(client, world["users"]["leader"])
    # Two households of building 1 (four people; building 3 has four more).
    assert got["人本轮核酸尚未采样"].count == 4
    assert got["人本轮核酸尚未采样"].url == reverse("screening:missed", args=[world["pcr"].pk])
    assert got["户今日抗原未报齐"].count == 1  # 1-102: one member of two reported
    assert got["人今日健康监测未完成"].count == 1  # building 3's quarantine is not theirs
    assert got["栋楼待送货上门"].count == 1
    assert "人次今日发热或有症状" not in got  # the fever is in building 3
    assert "份今日抗原阳性报告待跟进" not in got  # the committee's, not the leader's
    other = rows(client, world["users"]["leader3"])
    assert other["人本轮核酸尚未采样"].count == 4
    assert other["户今日抗原未报齐"].count == 2
    assert other["人次今日发热或有症状"].count == 1
    assert other["人次今日发热或有症状"].urgency == "bad"


def test_the_volunteer_sees_deliveries_of_their_buildings(client, world):
    got = rows(client, world["users"]["volunteer"])
    assert list(got) == ["栋楼待送货上门"]
    assert got["栋楼待送货上门"].count == 1
    assert got["栋楼待送货上门"].url == reverse("supplies:checklist")
    supplies_services.building_deliver(actor=world["users"]["head"], group_buy=world["ready"], building=world["b1"])
    assert rows(client, world["users"]["volunteer"]) == {}


def test_the_guard_sees_arrivals_at_their_gate(client, world, make_user):
    got = rows(client, world["users"]["guard"])
    assert list(got) == ["个团购今日到货, 待登记放行"]
    assert got["个团购今日到货, 待登记放行"].url == "/supplies/?status=closed"
    supplies_services.group_buy_arrive(
        actor=world["users"]["guard"], group_buy=world["due"], vehicle_plate="沪B1", driver_name="张"
    )
    got = rows(client, world["users"]["guard"])
    assert list(got) == ["批到货待消杀"]
    assert got["批到货待消杀"].count == 1
    # A guard of the other compound has nothing of 泰和苑's to do.
    other_guard = make_user(Role.GATE_GUARD, world["other_building"].compound, username="guard2")
    assert rows(client, other_guard) == {}


def test_property_sees_sorting_arrivals_and_handouts(client, world):
    got = rows(client, world["users"]["property"])
    assert got["个团购静置完成, 待分拣"].count == 1
    assert got["个团购今日到货, 待登记放行"].count == 1
    assert got["轮物资发放进行中"].count == 1
    assert got["轮物资发放进行中"].url == reverse("supplies:handout", args=[world["handout"].pk])
    for h in [*world["h1"][1:], *world["h3"]]:
        supplies_services.handout_mark_received(actor=world["users"]["head"], round=world["handout"], household=h)
    assert "轮物资发放进行中" not in rows(client, world["users"]["property"])


def test_the_committee_sees_alerts_and_reviews(client, world, make_resident):
    today = world["today"]
    screening_services.antigen_report_submit(
        actor=None, resident=world["r3"][1], date=today, result=AntigenResult.POSITIVE
    )
    world["q1"].planned_end = today
    world["q1"].save(update_fields=["planned_end"])
    supplies_services.leader_apply(
        actor=world["users"]["head"],
        household=world["h3"][0],
        name="王团长",
        phone="13800005678",
        channel="盒马",
        documents=docs(),
    )
    got = rows(client, world["users"]["head"])
    labels = list(got)
    assert labels[:2] == ["人次今日发热或有症状", "份今日抗原阳性报告待跟进"]  # the urgent ones first
    assert got["份今日抗原阳性报告待跟进"].count == 1
    assert got["人隔离期满, 待解除"].count >= 1
    assert got["位团长申请待审核"].count == 1
    assert got["人本轮核酸尚未采样"].count == 8
    assert "栋楼待送货上门" not in got and "批到货待消杀" not in got  # volunteers' and the gate's work
    owners = rows(client, world["users"]["owners"])
    assert list(owners) == ["位团长申请待审核", "组团购方案待比选"]


def test_sampler_and_street_officer(client, world):
    assert list(rows(client, world["users"]["sampler"])) == ["轮筛查正在采样"]
    assert rows(client, world["users"]["street"]) == {}
    client.force_login(world["users"]["street"])
    assert "今天暂无待办" in client.get("/").content.decode()


@pytest.mark.parametrize("role", ["head", "staff", "owners", "property", "guard", "leader", "volunteer", "sampler"])
def test_every_row_opens_for_the_role_it_is_shown_to(client, world, role):
    supplies_services.group_buy_arrive(
        actor=world["users"]["head"], group_buy=world["due"], vehicle_plate="沪B1", driver_name="张"
    )
    got = rows(client, world["users"][role])
    assert got, role
    for item in got.values():
        assert client.get(item.url).status_code == 200, (role, item.label, item.url)


# --- Queries ---------------------------------------------------------------------------------------


def _home_queries(client, user) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/").status_code == 200
    return len(ctx)


def test_home_page_queries_do_not_grow_with_the_data(client, world, make_resident, neighbourhood, compound):
    users = world["users"]
    before = {name: _home_queries(client, user) for name, user in users.items()}
    head = users["head"]
    today = world["today"]
    # More of everything: households and people, quarantines and checks, orders, handouts.
    more = [
        places_services.household_create(actor=None, building=b, unit="1", room=f"{n}01")
        for b in (world["b1"], world["b3"])
        for n in range(2, 6)
    ]
    people = [make_resident(h, name=f"新{n}") for n, h in enumerate(more * 2)]
    for r in people[:6]:
        q = control_services.quarantine_start(actor=None, reason=QuarantineReason.OTHER, resident=r)
        control_services.health_check_record(actor=None, quarantine=q, on=today, slot="morning", temperature="38.0")
    gb_leader = world["ready"].leader
    for category in (Category.MEAT, Category.RICE_OIL, Category.DAILY):
        _group_buy(head, gb_leader, more, today, category)
    for n in range(3):
        rnd = supplies_services.handout_round_create(
            actor=head, neighbourhood=neighbourhood, title=f"第{n}轮", package="菜", compound=compound
        )
        supplies_services.handout_mark_received(actor=head, round=rnd, household=more[n])
    after = {name: _home_queries(client, user) for name, user in users.items()}
    assert after == before
    # A fixed budget: every app's rows and cards are a few queries each (nine apps plug in), the
    # session, user and assignments a few more; none of them grows with the data (above).
    assert max(after.values()) <= 50, after


def test_rounds_are_a_handful_of_rows_however_many_run(client, world, neighbourhood):
    """One count per open round of today or yesterday, three rounds at most."""
    for _n in range(4):
        screening_services.round_create(
            actor=world["users"]["head"], neighbourhood=neighbourhood, date=world["today"], pool_size=10
        )
    client.force_login(world["users"]["leader"])
    listed = client.get("/").context["today_list"]
    assert sum(str(i.label) == "人本轮核酸尚未采样" for i in listed) == 2  # the first PCR round and the first new one
    assert sum(str(i.label) == "户今日抗原未报齐" for i in listed) == 1


def test_yesterdays_round_still_open_is_named_so(client, world):
    from jiayuan.screening.models import Round

    Round.objects.filter(pk=world["pcr"].pk).update(date=world["today"] - dt.timedelta(days=1))
    got = rows(client, world["users"]["leader"])
    assert got["人昨天一轮核酸尚未采样"].count == 4
    assert got["人昨天一轮核酸尚未采样"].urgency == "warn"  # its window has passed
    assert "人本轮核酸尚未采样" not in got
