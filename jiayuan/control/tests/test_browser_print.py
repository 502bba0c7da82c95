"""In Chromium: a building leader prints the household QR cards of their building; the committee
head copies the 防疫汇总统计表 text for the WeChat group (clipboard API, and the execCommand
fallback a plain-HTTP LAN address needs); the summary prints on A4 landscape without being cut."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jiayuan.accounts import services as account_services
from jiayuan.conftest import sign_in
from jiayuan.control import services
from jiayuan.control.choices import CaseSource
from jiayuan.core.permissions import Role
from jiayuan.places import services as places_services

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"

# What a phone on http://192.168.x.x has: no navigator.clipboard (not a secure context). The
# original is kept aside so the test can still read what was copied.
NO_CLIPBOARD = """
window.__realClipboard = navigator.clipboard;
Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined, configurable: true});
"""


@pytest.mark.browser
def test_leader_prints_the_qr_cards_of_their_building(
    live_server, browser_page, building, building2, household, household2, make_resident, make_user
):
    rooms = [household] + [
        places_services.household_create(actor=None, building=building, unit="2", room=str(100 + i))
        for i in range(1, 9)
    ]
    make_resident(household, name="周建国", phone="13900001111")
    for h in rooms[:5]:
        account_services.household_link_issue(actor=None, household=h)
    make_user(Role.BUILDING_LEADER, building, username="leader", password="leader-pass-1")
    page = browser_page
    sign_in(page, live_server.url, "leader", "leader-pass-1")

    page.goto(f"{live_server.url}/places/buildings/{building.pk}/")
    page.get_by_role("link", name="打印本楼住户二维码").click()
    expect(page.locator(".qr-card")).to_have_count(5)
    # Four rooms have no link yet: the page says so and issues them on request.
    expect(page.locator("#missing-links")).to_contain_text("还有 4 户")
    page.get_by_role("button", name="为这 4 户生成链接").click()
    expect(page.locator(".qr-card")).to_have_count(len(rooms))
    expect(page.locator("#missing-links")).to_have_count(0)
    expect(page.locator(".qr-card svg")).to_have_count(len(rooms))
    expect(page.locator("#qr-cards")).to_contain_text("扫码查看本户核酸、物资和通知")
    expect(page.locator("#qr-cards")).not_to_contain_text("周建国")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "qr-cards-phone.png"), full_page=True)

    # In print: two cards a row, four rows to an A4 portrait sheet, none split across pages.
    page.emulate_media(media="print")
    boxes = page.locator(".qr-card").evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.height]; })"
    )
    assert len({round(left) for left, _top, _h in boxes}) == 2
    assert all(abs(h - boxes[0][2]) < 1 for _l, _t, h in boxes)
    pdf = page.pdf(format="A4", path=str(ARTIFACTS / "qr-cards.pdf"))
    assert pdf.startswith(b"%PDF")

    # Another building's cards are not there for this leader.
    response = page.goto(f"{live_server.url}/places/buildings/{building2.pk}/qr-cards/")
    assert response.status == 404


@pytest.fixture
def head_world(building, building2, household, make_resident, make_user, neighbourhood):
    resident = make_resident(household, name="陈阳性")
    services.case_record(actor=None, resident=resident, detected_on=timezone.localdate(), source=CaseSource.PCR_ROUND)
    services.case_record(
        actor=None,
        resident=make_resident(household, name="陈家人"),
        detected_on=timezone.localdate() - dt.timedelta(days=1),
        source=CaseSource.PCR_ROUND,
    )
    make_user(Role.COMMITTEE_HEAD, neighbourhood, username="head", password="head-pass-1")


def _copy_summary(page, base_url: str) -> str:
    sign_in(page, base_url, "head", "head-pass-1")
    page.goto(f"{base_url}/control/summary/")
    text = page.locator("#share-text").input_value()
    assert "今日新增阳性 1 人" in text
    assert "陈阳性" not in text
    page.locator("#share").get_by_role("button", name="复制").click()
    expect(page.locator("#share .copy-status")).to_have_text("已复制")
    expect(page.locator("#share .copy-status")).to_be_hidden(timeout=4000)  # gone after 2 s
    return text


@pytest.mark.browser
def test_head_copies_the_summary_text(live_server, browser_page, head_world):
    page = browser_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    text = _copy_summary(page, live_server.url)
    assert page.evaluate("navigator.clipboard.readText()") == text
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "summary-share-phone.png"), full_page=True)


@pytest.mark.browser
def test_copy_works_without_the_clipboard_api(live_server, browser_page, head_world):
    page = browser_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.add_init_script(NO_CLIPBOARD)
    text = _copy_summary(page, live_server.url)
    assert page.evaluate("navigator.clipboard === undefined")
    assert page.evaluate("window.__realClipboard.readText()") == text


@pytest.mark.browser
def test_summary_fits_a4_landscape(live_server, browser_page, head_world):
    page = browser_page
    sign_in(page, live_server.url, "head", "head-pass-1")
    page.goto(f"{live_server.url}/control/summary/")
    # A4 landscape less the 8 mm margins is about 281 mm, 1062 CSS px wide.
    page.set_viewport_size({"width": 1062, "height": 750})
    page.emulate_media(media="print")
    widths = page.evaluate(
        """() => ({doc: document.documentElement.scrollWidth,
                  table: document.querySelector('#summary').getBoundingClientRect().right,
                  share: getComputedStyle(document.querySelector('#share')).display,
                  header: getComputedStyle(document.querySelector('.topbar')).display})"""
    )
    assert widths["doc"] <= 1062, widths
    assert widths["table"] <= 1062, widths
    assert widths["share"] == "none" and widths["header"] == "none"
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = page.pdf(format="A4", landscape=True, path=str(ARTIFACTS / "summary-a4-landscape.pdf"))
    assert pdf.startswith(b"%PDF")

    # The isolation map likewise: three buildings a row, nothing beyond the right edge.
    page.goto(f"{live_server.url}/control/map/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1062, width
    columns = page.locator(".bmap").evaluate_all(
        "els => new Set(els.map(e => Math.round(e.getBoundingClientRect().left))).size"
    )
    assert columns == 2  # the test neighbourhood has two buildings: side by side
    assert page.pdf(format="A4", landscape=True).startswith(b"%PDF")
