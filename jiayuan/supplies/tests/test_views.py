"""Staff pages and household-link pages: render, act, scope (forbidden is 404), exports."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from jiayuan.core.permissions import Role
from jiayuan.supplies import services
from jiayuan.supplies.choices import LeaderStatus
from jiayuan.supplies.models import Booking, GroupBuy, GroupBuyLeader, HandoutReceipt, Order, StockItem, Vote
from jiayuan.supplies.tests.conftest import PDF, PNG, item_ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(open_buy, head, neighbourhood, household, household2):
    veg, eggs = item_ids(open_buy)
    services.order_place(actor="h", group_buy=open_buy, household=household, quantities={veg: 1, eggs: 2})
    services.order_place(actor="h", group_buy=open_buy, household=household2, quantities={veg: 2})
    rnd = services.handout_round_create(actor=head, neighbourhood=neighbourhood, title="保供包", package="米面油")
    services.donation_record(
        actor=head, neighbourhood=neighbourhood, donor="企业", lines=[{"name": "口罩", "quantity": 100}]
    )
    campaign = services.campaign_create(
        actor=head, neighbourhood=neighbourhood, title="口罩预约", item_name="口罩", quota_per_household=5
    )
    start = timezone.now() + dt.timedelta(hours=3)
    window = services.window_create(
        actor=head,
        campaign=campaign,
        place="居委会",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        capacity=50,
    )
    return {"gb": open_buy, "round": rnd, "campaign": campaign, "window": window, "stock": StockItem.objects.get()}


def staff_urls(w):
    gb = w["gb"]
    return [
        reverse("supplies:index"),
        reverse("supplies:index") + "?status=open",
        reverse("supplies:leaders"),
        reverse("supplies:leader", args=[gb.leader_id]),
        reverse("supplies:bidding"),
        reverse("supplies:group_buy", args=[gb.pk]),
        reverse("supplies:sorting", args=[gb.pk]),
        reverse("supplies:handouts"),
        reverse("supplies:handout", args=[w["round"].pk]),
        reverse("supplies:stock"),
        reverse("supplies:stock_item", args=[w["stock"].pk]),
        reverse("supplies:campaigns"),
        reverse("supplies:campaign", args=[w["campaign"].pk]),
    ]


def test_every_staff_page_renders_for_the_committee(client, world, head):
    client.force_login(head)
    for url in [*staff_urls(world), reverse("supplies:settings"), reverse("supplies:leader_create")]:
        r = client.get(url)
        assert r.status_code == 200, url


def test_staff_pages_of_another_neighbourhood_are_404(client, world, make_user, other_neighbourhood):
    client.force_login(make_user(Role.COMMITTEE_HEAD, other_neighbourhood))
    w = world
    for url in staff_urls(w)[3:]:
        if url.endswith(("/bidding/", "/handouts/", "/stock/", "/appointments/")):
            continue
        assert client.get(url).status_code == 404, url


def test_street_officer_has_no_supplies_pages(client, world, make_user, street):
    client.force_login(make_user(Role.STREET_OFFICER, street))
    assert client.get(reverse("supplies:index")).status_code == 404
    assert client.get(reverse("supplies:group_buy", args=[world["gb"].pk])).status_code == 404


def test_nav_shows_the_supplies_entry(client, world, head):
    client.force_login(head)
    r = client.get(reverse("core:home"))
    assert reverse("supplies:index") in r.content.decode()


def test_building_leader_sees_only_their_building_on_the_sorting_sheet(client, world, building, make_user):
    client.force_login(make_user(Role.BUILDING_LEADER, building))
    r = client.get(reverse("supplies:sorting", args=[world["gb"].pk]))
    html = r.content.decode()
    assert r.status_code == 200
    assert "1号楼" in html and "2号楼" not in html


def test_sorting_xlsx_totals_equal_order_totals(client, world, head):
    client.force_login(head)
    r = client.get(reverse("supplies:sorting", args=[world["gb"].pk]) + "?format=xlsx")
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(r.content))
    summary = wb["汇总"]
    rows = list(summary.iter_rows(values_only=True))
    total_row = rows[-1]
    assert total_row[0] == "合计"
    assert total_row[2:4] == (3, 2)  # 蔬菜包 1+2, 鸡蛋 2
    assert len(wb.sheetnames) == 3  # summary + two buildings


def test_volunteer_checklist_page_and_xlsx(client, world, head, building, make_user):
    gb = world["gb"]
    services.group_buy_close(actor=head, group_buy=gb)
    services.group_buy_arrive(
        actor=head,
        group_buy=gb,
        vehicle_plate="沪A1",
        driver_name="王",
        arrived_at=timezone.now() - dt.timedelta(hours=2),
    )
    services.group_buy_disinfect(
        actor=head, group_buy=gb, disinfected_at=timezone.now() - dt.timedelta(hours=1), confirm_backdated=True
    )
    volunteer = make_user(Role.VOLUNTEER, building)
    client.force_login(volunteer)
    r = client.get(reverse("supplies:checklist"))
    assert r.status_code == 200
    assert "1号楼" in r.content.decode() and "2号楼" not in r.content.decode()
    r = client.get(reverse("supplies:checklist") + "?format=xlsx")
    assert load_workbook(io.BytesIO(r.content)).active["A1"].value.startswith("送货清单")
    r = client.post(reverse("supplies:building_deliver", args=[gb.pk, building.pk]), {"bags": "2"})
    assert r.status_code == 302
    assert gb.deliveries.get().bags == 2


def test_transitions_through_the_pages(client, world, head):
    client.force_login(head)
    gb = world["gb"]
    client.post(reverse("supplies:group_buy_action", args=[gb.pk, "close"]))
    client.post(
        reverse("supplies:group_buy_action", args=[gb.pk, "arrive"]),
        {"vehicle_plate": "沪B2", "driver_name": "李", "arrival_note": "60份"},
    )
    client.post(reverse("supplies:group_buy_action", args=[gb.pk, "disinfect"]), {})
    gb.refresh_from_db()
    assert gb.status == "disinfected"
    r = client.post(reverse("supplies:group_buy_action", args=[gb.pk, "sort"]), follow=True)
    assert "静置" in r.content.decode()
    assert client.post(reverse("supplies:group_buy_action", args=[gb.pk, "bogus"])).status_code == 404


def test_gate_guard_cannot_close_a_group_buy(client, world, compound, make_user):
    client.force_login(make_user(Role.GATE_GUARD, compound))
    gb = world["gb"]
    assert client.post(reverse("supplies:group_buy_action", args=[gb.pk, "close"])).status_code == 404


def test_paid_toggle_with_htmx(client, world, head):
    client.force_login(head)
    order = Order.objects.first()
    r = client.post(reverse("supplies:order_paid", args=[order.pk]), {"paid": "1"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "已付" in r.content.decode()
    order.refresh_from_db()
    assert order.paid


def test_leader_review_through_the_page(client, head, make_leader, household2):
    leader = make_leader(household2, approve=False)
    client.force_login(head)
    r = client.post(reverse("supplies:leader_review", args=[leader.pk]), {"decision": "reject"}, follow=True)
    assert "驳回时请填写原因" in r.content.decode()
    client.post(reverse("supplies:leader_review", args=[leader.pk]), {"decision": "approve"})
    leader.refresh_from_db()
    assert leader.status == LeaderStatus.APPROVED
    doc = leader.documents.first()
    r = client.get(reverse("supplies:document", args=[doc.pk]))
    assert r.status_code == 200 and r["X-Content-Type-Options"] == "nosniff"


def test_proxy_order_page_for_a_building_leader(client, world, household, building, make_user, make_resident):
    grandma = make_resident(household, name="王阿婆", tags=["no_smartphone"])
    client.force_login(make_user(Role.BUILDING_LEADER, building))
    gb = world["gb"]
    url = reverse("supplies:proxy_order", args=[gb.pk])
    assert "王阿婆" in client.get(url).content.decode()
    veg, _eggs = item_ids(gb)
    r = client.post(url, {"resident": grandma.pk, f"q_{veg}": "1", "delivery_mode": "door", "idempotency_key": "p1"})
    assert r.status_code == 302
    order = Order.objects.get(proxy_for=grandma)
    assert order.is_proxy


def test_handout_receive_page(client, world, head, household):
    client.force_login(head)
    rnd = world["round"]
    client.post(reverse("supplies:handout_receive", args=[rnd.pk]), {"household": household.pk})
    assert HandoutReceipt.objects.filter(round=rnd, household=household).exists()


def test_stock_issue_page_refuses_more_than_stock(client, world, head):
    client.force_login(head)
    item = world["stock"]
    r = client.post(
        reverse("supplies:stock_item", args=[item.pk]), {"form": "issue", "quantity": "101", "recipient": "志愿者"}
    )
    assert r.status_code == 200 and "库存不足" in r.content.decode()
    item.refresh_from_db()
    assert item.quantity == 100


def test_bad_input_never_500s(client, world, head):
    client.force_login(head)
    gb = world["gb"]
    assert client.get(reverse("supplies:sorting", args=[gb.pk]) + "?building=abc").status_code == 200
    assert client.get(reverse("supplies:index") + "?status=<x>&page=zz").status_code == 200
    r = client.post(reverse("supplies:group_buy_action", args=[gb.pk, "issue"]), {"kind": "x"})
    assert r.status_code == 302


# Household link pages ----------------------------------------------------------------------


def test_household_orders_through_its_link_and_a_double_submit_is_stored_once(client, world, household, link_token):
    token = link_token(household)
    gb = world["gb"]
    home = client.get(reverse("supplies_household:home", args=[token]))
    assert home.status_code == 200 and gb.title in home.content.decode()
    url = reverse("supplies_household:order", args=[token, gb.pk])
    page = client.get(url).content.decode()
    assert 'name="idempotency_key"' in page
    veg, _ = item_ids(gb)
    before = Order.objects.filter(household=household).count()
    data = {f"q_{veg}": "1", "delivery_mode": "door", "idempotency_key": "form-key-1"}
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 302
    assert Order.objects.filter(household=household).count() == before + 1


def test_household_order_over_the_limit_shows_the_error(client, world, household, link_token):
    token = link_token(household)
    gb = world["gb"]
    veg, _ = item_ids(gb)
    r = client.post(
        reverse("supplies_household:order", args=[token, gb.pk]), {f"q_{veg}": "2", "delivery_mode": "door"}
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert 'role="alert"' in html and "蔬菜包每户限购2份" in html  # the service's error, on the form
    assert Order.objects.filter(household=household).count() == 1


def test_household_home_panel_links_to_supplies(client, world, household, link_token):
    token = link_token(household)
    r = client.get(reverse("household_home", args=[token]))
    assert reverse("supplies_household:home", args=[token]) in r.content.decode()


def test_invalid_link_is_404(client):
    assert client.get(reverse("supplies_household:home", args=["forged"])).status_code == 404


def test_household_votes_through_its_link(client, make_leader, make_group_buy, household, household2, link_token):
    a = make_group_buy(make_leader(household, name="甲"))
    make_group_buy(make_leader(household2, name="乙"), supplier="另一家")
    token = link_token(household2)
    assert "投这个" in client.get(reverse("supplies_household:home", args=[token])).content.decode()
    client.post(reverse("supplies_household:vote", args=[token, a.pk]))
    assert Vote.objects.filter(household=household2, group_buy=a).exists()
    r = client.post(reverse("supplies_household:vote", args=[token, a.pk]), follow=True)
    assert "已经投过票" in r.content.decode()


def test_resident_applies_as_leader_through_the_link(client, household, link_token, head):
    token = link_token(household)
    day = (timezone.localdate() + dt.timedelta(days=60)).isoformat()
    data = {
        "name": "赵团长",
        "phone": "13800001111",
        "channel": "西郊国际",
        "permit_expires_on": day,
        "licence_expires_on": day,
        "permit_file": SimpleUploadedFile("p.png", PNG, content_type="image/png"),
        "licence_file": SimpleUploadedFile("l.pdf", PDF, content_type="application/pdf"),
    }
    r = client.post(reverse("supplies_household:leader_apply", args=[token]), data)
    assert r.status_code == 302, r.content.decode()[:2000]
    leader = GroupBuyLeader.objects.get(name="赵团长")
    assert leader.status == LeaderStatus.PENDING and leader.documents.count() == 2


def test_link_application_with_a_bad_file_shows_the_field_error(client, household, link_token):
    token = link_token(household)
    day = (timezone.localdate() + dt.timedelta(days=60)).isoformat()
    data = {
        "name": "赵",
        "channel": "x",
        "permit_expires_on": day,
        "licence_expires_on": day,
        "permit_file": SimpleUploadedFile("p.exe", b"MZ\x90\x00", content_type="application/octet-stream"),
        "licence_file": SimpleUploadedFile("l.pdf", PDF, content_type="application/pdf"),
    }
    r = client.post(reverse("supplies_household:leader_apply", args=[token]), data)
    assert r.status_code == 200 and "只接受" in r.content.decode()


def test_approved_leader_proposes_and_opens_through_the_link(
    client, leader, household, link_token, committee_mode, head
):
    token = link_token(household)
    day = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    data = {
        "title": "猪肉团",
        "category": "meat",
        "supplier": "光明",
        "delivery_date": day,
        "item_0_name": "五花肉",
        "item_0_unit": "斤",
        "item_0_price": "28",
        "item_0_limit": "3",
    }
    r = client.post(reverse("supplies_household:leader_propose", args=[token]), data)
    assert r.status_code == 302
    gb = GroupBuy.objects.get(title="猪肉团")
    services.group_buy_pick(actor=head, group_buy=gb)
    client.post(reverse("supplies_household:leader_action", args=[token, gb.pk, "open"]))
    gb.refresh_from_db()
    assert gb.status == "open"


def test_household_books_a_window_and_gets_a_voucher(client, world, household, link_token):
    token = link_token(household)
    r = client.post(
        reverse("supplies_household:book", args=[token, world["window"].pk]),
        {"quantity": "5", "mode": "pickup"},
        follow=True,
    )
    booking = Booking.objects.get(household=household)
    assert booking.voucher in r.content.decode()


def test_home_page_warns_of_low_stock(client, world, head):
    services.stock_set_threshold(actor=head, stock_item=world["stock"], low_threshold=100)
    client.force_login(head)
    html = client.get(reverse("core:home")).content.decode()
    assert "supplies-alerts" in html and "库存低" in html


def test_settings_page_saves_and_audits(client, head, neighbourhood):
    from jiayuan.core.models import AuditEvent

    client.force_login(head)
    r = client.post(
        reverse("supplies:settings"),
        {"selection_mode": "committee", "rest_minutes": "45", "daily_limit_per_category": "2"},
    )
    assert r.status_code == 302
    settings = services.settings_for(neighbourhood.pk)
    assert (settings.selection_mode, settings.rest_minutes, settings.daily_limit_per_category) == ("committee", 45, 2)
    assert AuditEvent.objects.filter(action="supplies.settings_update").exists()
    bad = client.post(reverse("supplies:settings"), {"selection_mode": "x", "rest_minutes": "abc"})
    assert bad.status_code == 200


def test_staff_propose_on_behalf_of_a_leader(client, head, leader):
    client.force_login(head)
    day = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    url = reverse("supplies:propose", args=[leader.pk])
    r = client.post(url, {"title": "大米", "category": "rice_oil", "supplier": "福临门", "delivery_date": day})
    assert r.status_code == 200 and "至少填写一项商品" in r.content.decode()
    data = {
        "title": "大米",
        "category": "rice_oil",
        "supplier": "福临门",
        "delivery_date": day,
        "item_0_name": "大米 5kg",
        "item_0_price": "45",
        "item_0_total": "100",
    }
    assert client.post(url, data).status_code == 302
    gb = GroupBuy.objects.get(title="大米")
    assert gb.items.get().total_quantity == 100 and gb.created_by == head
