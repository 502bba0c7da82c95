"""In Chromium at phone size: a resident raises a medicine request on their link page; a volunteer
accepts and delivers it; the resident confirms; staff log a phone call that becomes a request."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from jiayuan.care.models import CareRequest
from jiayuan.conftest import sign_in
from jiayuan.core.permissions import Role

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.mark.browser
def test_medicine_request_from_link_to_confirmation_and_a_phone_log(
    live_server, browser_page, household, make_resident, make_user, building, neighbourhood, link_token
):
    make_resident(household, name="吴伯伯", tags=["elderly_alone"])
    make_user(Role.VOLUNTEER, building, username="xiaoli", password="vol-pass-123")
    make_user(Role.COMMITTEE_STAFF, neighbourhood, username="gongzuo", password="staff-pass-1")
    token = link_token(household)
    page = browser_page
    ARTIFACTS.mkdir(exist_ok=True)

    # The resident, on the household link page.
    page.goto(f"{live_server.url}/h/{token}/")
    page.get_by_role("link", name="求助与意见").click()
    expect(page.get_by_role("heading", name="求助与意见")).to_be_visible()
    page.get_by_role("radio", name="代配药").check()
    page.get_by_label("为谁").select_option(label="吴伯伯")
    page.get_by_label("药品名称(代配药)").fill("硝苯地平控释片")
    page.get_by_label("数量").fill("2盒")
    page.get_by_label("医院或药店").fill("中山医院")
    page.get_by_label("交给跑腿人的凭证").select_option("insurance_card")
    page.get_by_role("button", name="提交求助").click()
    expect(page.get_by_text("已提交, 居委会会尽快受理")).to_be_visible()
    req = CareRequest.objects.get()
    card = page.locator(f"#req-{req.pk}")
    expect(card).to_contain_text("待受理")
    page.screenshot(path=str(ARTIFACTS / "care-household-request.png"), full_page=True)

    # The volunteer accepts and delivers.
    sign_in(page, live_server.url, "xiaoli", "vol-pass-123")
    page.get_by_role("link", name="民呼我应").first.click()
    page.get_by_role("link", name=f"#{req.pk} 代配药").click()
    expect(page.get_by_role("cell", name="硝苯地平控释片")).to_be_visible()
    page.get_by_role("button", name="已受理").click()
    expect(page.locator("#steps")).to_contain_text("已受理")
    page.get_by_label("说明(可选)").fill("药已送到门口")
    page.get_by_role("button", name="已办结").click()
    expect(page.locator("#steps")).to_contain_text("已办结")
    page.screenshot(path=str(ARTIFACTS / "care-volunteer-detail.png"), full_page=True)
    page.context.clear_cookies()

    # The resident confirms.
    page.goto(f"{live_server.url}/h/{token}/care/")
    expect(card).to_contain_text("药已送到门口")
    card.get_by_role("button", name="确认已办好").click()
    expect(page.locator(f"#req-{req.pk}")).to_contain_text("居民已确认")
    req.refresh_from_db()
    assert req.status == "confirmed" and req.assignee.username == "xiaoli"

    # Staff log a phone call in three taps.
    sign_in(page, live_server.url, "gongzuo", "staff-pass-1")
    page.goto(f"{live_server.url}/care/new/")
    label = " ".join(str(household).split())
    who = page.get_by_label("住户/居民")
    who.press_sequentially("吴伯")  # the list under the field comes from the server as one types
    expect(page.locator("#care-households option")).to_have_count(1)
    assert page.locator("#care-households option").get_attribute("value") == f"{label} 吴伯伯"
    who.fill(f"{label} 吴伯伯")
    page.get_by_role("radio", name="食品物资短缺").check()
    page.get_by_label("记录").fill("家里米吃完了")
    page.screenshot(path=str(ARTIFACTS / "care-phone-log.png"), full_page=True)
    page.get_by_role("button", name="登记诉求").click()
    expect(page.get_by_text("已登记诉求")).to_be_visible()
    logged = CareRequest.objects.exclude(pk=req.pk).get()
    assert logged.source == "phone" and logged.resident.name == "吴伯伯" and logged.priority == "high"
    page.goto(f"{live_server.url}/care/")
    expect(page.locator(f"#req-{logged.pk}")).to_contain_text("家里米吃完了")
    page.screenshot(path=str(ARTIFACTS / "care-index.png"), full_page=True)
