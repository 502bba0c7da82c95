"""In Chromium at phone size: the head publishes today's bulletin; a resident opens it from the
household link; a notice asking for acknowledgement shows as unread for the building's
households until they open it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from jiayuan.accounts.services import household_link_issue, household_link_token
from jiayuan.bulletin import services
from jiayuan.bulletin.choices import Audience, NoticeKind
from jiayuan.conftest import sign_in
from jiayuan.control import services as control
from jiayuan.control.choices import CaseSource
from jiayuan.core.permissions import Role

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.mark.browser
def test_head_publishes_and_a_resident_reads_it(
    live_server, browser_page, head, neighbourhood, household, household2, building, make_resident, make_user
):
    from django.utils import timezone

    residents = [make_resident(household, name=n) for n in ("王建国", "李秀英", "张伟", "刘芳")]
    for r in residents[:3]:
        control.case_record(actor=None, resident=r, detected_on=timezone.localdate(), source=CaseSource.PCR_ROUND)
    make_resident(household2, name="赵磊")
    token = household_link_token(household_link_issue(actor=head, household=household))
    page = browser_page
    page.on("dialog", lambda dialog: dialog.accept())
    ARTIFACTS.mkdir(exist_ok=True)

    sign_in(page, live_server.url, "head", "pass-1234")
    page.get_by_role("link", name="日报通知").click()
    page.get_by_role("button", name="汇总并预览").click()
    expect(page.locator("#status")).to_have_text("草稿")
    expect(page.locator("#section-control")).to_contain_text("新增阳性")
    page.get_by_label("编者按").fill("今晚八点全楼消杀,请关好窗户。")
    page.get_by_role("button", name="发布日报").click()
    expect(page.locator("#status")).to_have_text("已发布")
    page.screenshot(path=str(ARTIFACTS / "bulletin-published.png"), full_page=True)

    page.context.clear_cookies()
    page.goto(f"{live_server.url}/h/{token}/")
    page.get_by_role("link", name="看最新日报").click()
    expect(page.get_by_role("heading", name="泰和居民区 抗疫日报")).to_be_visible()
    expect(page.locator("#section-control")).to_contain_text("3人")
    expect(page.get_by_text("今晚八点全楼消杀")).to_be_visible()
    for name in ("王建国", "李秀英", "301"):
        expect(page.locator("main")).not_to_contain_text(name)
    page.screenshot(path=str(ARTIFACTS / "bulletin-public.png"), full_page=True)
    page.goto(page.url + "bulletin.png")
    page.screenshot(path=str(ARTIFACTS / "bulletin-image-in-browser.png"))

    make_user(Role.STREET_OFFICER, neighbourhood.street, username="jiedao", password="street-pass-1")
    sign_in(page, live_server.url, "jiedao", "street-pass-1")
    page.locator("#bulletin-panel").get_by_role("link", name="各居民区汇总").click()
    table = page.locator(f"#rollup-{neighbourhood.street_id}")
    expect(table.locator("tbody tr", has_text="泰和居民区")).to_contain_text("3")
    expect(page.locator("main")).not_to_contain_text("王建国")
    page.screenshot(path=str(ARTIFACTS / "bulletin-rollup-street.png"), full_page=True)


@pytest.mark.browser
def test_a_notice_stays_unread_until_the_household_opens_it(
    live_server, browser_page, head, neighbourhood, household, building, make_resident, make_user
):
    make_resident(household, name="王建国")
    notice = services.notice_create(
        actor=head,
        neighbourhood=neighbourhood,
        kind=NoticeKind.APPEAL,
        title="1号楼明早核酸倡议书",
        body="请七点按楼层分批下楼。",
        audience=Audience.BUILDINGS,
        buildings=[building],
        requires_ack=True,
    )
    services.channel_for(neighbourhood)
    make_user(Role.BUILDING_LEADER, building, username="louzhang", password="leader-pass-1")
    token = household_link_token(household_link_issue(actor=head, household=household))
    page = browser_page
    ARTIFACTS.mkdir(exist_ok=True)

    sign_in(page, live_server.url, "louzhang", "leader-pass-1")
    page.goto(f"{live_server.url}/bulletin/notices/{notice.pk}/unread/")
    expect(page.locator(f"#building-{building.pk}")).to_contain_text("1单元 301室")
    page.screenshot(path=str(ARTIFACTS / "bulletin-unread.png"), full_page=True)

    page.context.clear_cookies()
    page.goto(f"{live_server.url}/h/{token}/")
    panel = page.locator("#bulletin-panel")
    expect(panel).to_contain_text("未读")
    page.screenshot(path=str(ARTIFACTS / "bulletin-household-panel.png"), full_page=True)
    panel.get_by_role("link", name="1号楼明早核酸倡议书").click()
    expect(page.locator("#ack")).to_be_visible()

    sign_in(page, live_server.url, "louzhang", "leader-pass-1")
    page.goto(f"{live_server.url}/bulletin/notices/{notice.pk}/unread/")
    expect(page.get_by_text("您负责的住户都已读。")).to_be_visible()
