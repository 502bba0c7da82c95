"""Pages: compose and publish as the head, the public page, image and print page without login,
notices on the household link pages with read receipts, trends and roll-up with their xlsx."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.urls import reverse
from PIL import Image

from jiayuan.accounts.services import household_link_issue, household_link_token
from jiayuan.bulletin import dashboards, services
from jiayuan.bulletin.choices import Audience, NoticeKind
from jiayuan.bulletin.models import Bulletin, NoticeRead
from jiayuan.bulletin.rendering import compose_sections
from jiayuan.bulletin.tests.conftest import DAY, NAMES, at
from jiayuan.core import extensions
from jiayuan.core.permissions import Role
from jiayuan.places import services as places

pytestmark = pytest.mark.django_db
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.fixture
def published(crafted_day, head, neighbourhood):
    b = services.bulletin_create(actor=head, neighbourhood=neighbourhood, date=DAY)
    return services.bulletin_publish(actor=head, bulletin=b, note="今晚八点消杀")


def _public(b, name="bulletin:public_day"):
    return reverse(name, args=[b.neighbourhood.bulletin_channel.key, b.date.isoformat()])


def test_head_composes_and_publishes_from_the_page(client, crafted_day, head, neighbourhood):
    client.force_login(head)
    r = client.post(reverse("bulletin:index"), {"neighbourhood": neighbourhood.pk, "date": DAY.isoformat()})
    b = Bulletin.objects.get()
    assert r.status_code == 302 and r.url == reverse("bulletin:detail", args=[b.pk])
    page = client.get(r.url).content.decode()
    assert "新增阳性" in page and "发布日报" in page
    r = client.post(reverse("bulletin:detail", args=[b.pk]), {"note": "谢谢大家"})
    b.refresh_from_db()
    assert b.is_published and b.note == "谢谢大家"
    page = client.get(reverse("bulletin:detail", args=[b.pk])).content.decode()
    assert _public(b) in page and "复制给微信群" in page


def test_public_pages_open_without_login_and_hide_drafts(client, published, residents, neighbourhood):
    key = neighbourhood.bulletin_channel.key
    for name in ("bulletin:public_day", "bulletin:public_print"):
        r = client.get(_public(published, name))
        assert r.status_code == 200
        html = r.content.decode()
        assert "新增阳性" in html and "今晚八点消杀" in html
        for n in NAMES:
            assert n not in html
    assert str(DAY) in client.get(reverse("bulletin:public_archive", args=[key])).content.decode()
    draft = services.bulletin_create(actor=None, neighbourhood=neighbourhood, date=DAY.replace(day=16))
    assert client.get(_public(draft)).status_code == 404
    assert client.get(reverse("bulletin:public_archive", args=["not-the-key"])).status_code == 404


def test_png_is_a_real_image_at_phone_width(client, published):
    r = client.get(_public(published, "bulletin:public_png"))
    assert r.status_code == 200 and r["Content-Type"] == "image/png"
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "bulletin-image.png").write_bytes(r.content)  # to look at, as a person would
    image = Image.open(io.BytesIO(r.content)).convert("L")
    assert image.width >= 750 and image.height > 600
    colours = image.getcolors(maxcolors=1 << 16)
    assert colours is not None and len(colours) > 20  # text, not a blank sheet
    dark = sum(n for n, level in colours if level < 128)
    assert dark > 2000  # many dark pixels: the characters were drawn


def test_notice_on_household_pages_with_read_receipt(
    client, head, residents, neighbourhood, building, household, household2
):
    notice = services.notice_create(
        actor=head,
        neighbourhood=neighbourhood,
        kind=NoticeKind.APPEAL,
        title="1号楼倡议书",
        body="请配合",
        audience=Audience.BUILDINGS,
        buildings=[building],
        requires_ack=True,
    )
    token = household_link_token(household_link_issue(actor=head, household=household))
    other = household_link_token(household_link_issue(actor=head, household=household2))
    home = client.get(reverse("household_home", args=[token])).content.decode()
    assert "1号楼倡议书" in home and "未读" in home
    assert "1号楼倡议书" not in client.get(reverse("household_home", args=[other])).content.decode()
    leader = head
    client.force_login(leader)
    unread = client.get(reverse("bulletin:notice_unread", args=[notice.pk])).content.decode()
    assert household.label in unread
    client.logout()
    r = client.get(reverse("bulletin_household:notice", args=[token, notice.pk]))
    assert r.status_code == 200 and NoticeRead.objects.filter(notice=notice, household=household).exists()
    client.get(reverse("bulletin_household:notice", args=[token, notice.pk]))
    assert NoticeRead.objects.filter(notice=notice).count() == 1
    assert client.get(reverse("bulletin_household:notice", args=[other, notice.pk])).status_code == 404
    client.force_login(leader)
    assert household.label not in client.get(reverse("bulletin:notice_unread", args=[notice.pk])).content.decode()
    poster = client.get(reverse("bulletin:notice_poster", args=[notice.pk])).content.decode()
    assert "<svg" in poster and "1号楼倡议书" in poster


ONE_DAY = dt.timedelta(days=1)


def test_rollup_totals_equal_each_neighbourhoods_own_figures(client, crafted_day, make_user, street, neighbourhood):
    second = places.neighbourhood_create(actor=None, street=street, code="T3", name="第三居民区")
    officer = make_user(Role.STREET_OFFICER, street)
    rows = dashboards.rollup(user=officer, day=DAY)
    own = {}
    for nb in (neighbourhood, second):
        figures = {f"{s['key']}.{f['key']}": f for s in compose_sections(nb, DAY) for f in s["figures"]}
        own[nb.pk] = figures
    mine = next(r for r in rows if r.neighbourhood_id == neighbourhood.pk)
    f = own[neighbourhood.pk]
    assert mine.values["residents"] == f["residents.residents"]["value"]
    assert mine.values["present"] == f["residents.present"]["value"]
    assert mine.values["cases_new"] == f["control.cases_new"]["value"]
    assert mine.values["sealed_buildings"] == f["control.sealed_buildings"]["value"]
    assert mine.values["sampled_today"] == f["screening.sampled"]["value"]
    assert mine.values["antigen_reported_today"] == f["screening.antigen_reported"]["value"]
    (group,) = dashboards.rollup_by_street(rows)
    assert group["total"]["cases_new"] == sum(r.values["cases_new"] for r in rows) == 3
    client.force_login(officer)
    page = client.get(reverse("bulletin:rollup") + f"?date={DAY}&sort=cases_new&dir=desc").content.decode()
    assert "第三居民区" in page and neighbourhood.name in page
    assert page.index(neighbourhood.name) < page.index("第三居民区")  # sorted by new cases
    for n in NAMES:
        assert n not in page
    x = client.get(reverse("bulletin:rollup_xlsx") + f"?date={DAY}")
    assert x.status_code == 200 and x.content[:2] == b"PK"
    assert all(c.key in mine.values for c in extensions.rollup_columns())


def test_rollup_sealed_buildings_today_follow_overrides(
    crafted_day, make_user, street, neighbourhood, building, building2, django_assert_num_queries
):
    """Today's column reads only buildings with a stored level or an override in force, yet counts
    what the zone pages show: 1号楼 sealed by its cases, 2号楼 lifted by an override, 3号楼 (no
    stored level) sealed through its compound's override, 4号楼 sealed by an expired override only."""
    from jiayuan.control.bulletin import sealed_buildings_by_neighbourhood
    from jiayuan.control.models import ZoneOverride
    from jiayuan.control.selectors import zone_levels
    from jiayuan.places.models import Building

    east = places.compound_create(actor=None, neighbourhood=neighbourhood, name="东苑")
    third = places.building_create(actor=None, compound=east, number="3", units=1, floors=1)
    fourth = places.building_create(actor=None, compound=building.compound, number="4", units=1, floors=1)
    now = at(DAY)
    ZoneOverride.objects.create(
        neighbourhood=neighbourhood, building=building2, level="controlled", reason="t", expires_at=now + ONE_DAY
    )
    ZoneOverride.objects.create(
        neighbourhood=neighbourhood, compound=east, level="sealed", reason="t", expires_at=now + ONE_DAY
    )
    ZoneOverride.objects.create(
        neighbourhood=neighbourhood, building=fourth, level="sealed", reason="t", expires_at=now - ONE_DAY
    )
    every = zone_levels(building_ids=Building.objects.filter(neighbourhood=neighbourhood).values_list("id", flat=True))
    assert {b: every[b.pk] for b in (building, building2, third, fourth)} == {
        building: "sealed",
        building2: "controlled",
        third: "sealed",
        fourth: "precaution",
    }
    with django_assert_num_queries(3):
        assert sealed_buildings_by_neighbourhood([neighbourhood.pk], DAY) == {neighbourhood.pk: 2}
    rows = dashboards.rollup(user=make_user(Role.STREET_OFFICER, street), day=DAY)
    figures = {f"{s['key']}.{f['key']}": f for s in compose_sections(neighbourhood, DAY) for f in s["figures"]}
    mine = next(r for r in rows if r.neighbourhood_id == neighbourhood.pk)
    assert mine.values["sealed_buildings"] == figures["control.sealed_buildings"]["value"] == 2


def test_district_officer_sees_streets_grouped(make_user, street, neighbourhood):
    other_street = places.street_create(actor=None, code="S2", name="大场镇")
    places.neighbourhood_create(actor=None, street=other_street, code="D1", name="大场居民区")
    officer = make_user(Role.STREET_OFFICER, street)
    from jiayuan.accounts.models import Assignment

    Assignment.objects.create(user=officer, role=Role.STREET_OFFICER, level="street", street=other_street)
    officer.__dict__.pop("_jiayuan_assignments", None)
    officer.__dict__.pop("_jiayuan_scope_cache", None)
    groups = dashboards.rollup_by_street(dashboards.rollup(user=officer, day=DAY))
    assert [g["street"] for g in groups] == ["高境镇", "大场镇"]


def test_trends_page_and_export(client, crafted_day, head, on_day):
    client.force_login(head)
    page = client.get(reverse("bulletin:trends")).content.decode()
    assert page.count("<svg") >= 4 and "新增阳性" in page
    x = client.get(reverse("bulletin:trends_xlsx"))
    assert x.status_code == 200 and x.content[:2] == b"PK"
    data = dashboards.trends(crafted_day[0].neighbourhood, DAY)
    cases = next(s for s in data["series"] if s["key"] == "cases_new")
    assert cases["values"][-1] == 3 and cases["values"][-2] == 1 and len(cases["values"]) == 30


def test_present_takes_yesterdays_figure_from_yesterdays_bulletin(residents, neighbourhood, time_machine):
    from jiayuan.bulletin.tests.conftest import YESTERDAY, at

    time_machine.move_to(at(YESTERDAY), tick=False)
    services.bulletin_create(actor=None, neighbourhood=neighbourhood, date=YESTERDAY)
    time_machine.move_to(at(DAY), tick=False)
    b = services.bulletin_create(actor=None, neighbourhood=neighbourhood, date=DAY)
    present = next(f for s in b.sections for f in s["figures"] if f["key"] == "present")
    assert present["previous"] == 8 and present["change"] == "持平"


def test_compose_all_command(neighbourhood, other_neighbourhood, on_day):
    from django.core.management import call_command

    out = io.StringIO()
    call_command("bulletin_compose", stdout=out)
    assert Bulletin.objects.filter(date=DAY).count() == 2 and "composed 2" in out.getvalue()
    call_command("bulletin_compose", stdout=out)  # again: the same drafts, recomposed
    assert Bulletin.objects.filter(date=DAY).count() == 2


def test_pages_are_404_without_the_action(client, make_user, building):
    volunteer = make_user(Role.VOLUNTEER, building)
    client.force_login(volunteer)
    assert client.get(reverse("bulletin:index")).status_code == 404
    assert client.get(reverse("bulletin:notices")).status_code == 404


def test_today_row_while_todays_draft_awaits_publishing(client, head, neighbourhood, make_user, building, on_day):
    client.force_login(head)
    assert "份今日日报草稿待发布" not in client.get("/").content.decode()  # nothing composed yet
    services.compose_all(date=DAY)
    assert "份今日日报草稿待发布" in client.get("/").content.decode()
    services.bulletin_publish(actor=head, bulletin=Bulletin.objects.get(neighbourhood=neighbourhood, date=DAY))
    assert "份今日日报草稿待发布" not in client.get("/").content.decode()
    services.compose_all(date=DAY)
    client.force_login(make_user(Role.VOLUNTEER, building))
    assert "份今日日报草稿待发布" not in client.get("/").content.decode()


def test_a_building_leader_finds_the_unread_households_from_home(
    client, head, residents, neighbourhood, building, household, make_user
):
    leader = make_user(Role.BUILDING_LEADER, building)
    client.force_login(leader)
    assert "bulletin-acks-panel" not in client.get("/").content.decode()
    notice = services.notice_create(
        actor=head,
        neighbourhood=neighbourhood,
        kind=NoticeKind.NOTICE,
        title="请开窗通风",
        body="每天两次",
        audience=Audience.BUILDINGS,
        buildings=[building],
        requires_ack=True,
    )
    assert reverse("bulletin:acks") in client.get("/").content.decode()
    page = client.get(reverse("bulletin:acks")).content.decode()
    assert reverse("bulletin:notice_unread", args=[notice.pk]) in page and "1 户未读" in page
