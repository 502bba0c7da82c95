"""In Chromium at phone size: the guard scans a code from a sealed building and sees red with the
reason, then a resident of a precaution building and sees green."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from jiayuan.conftest import sign_in
from jiayuan.core.permissions import Role
from jiayuan.gates.tests.conftest import zone
from jiayuan.screening.codes import sampling_code

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.mark.browser
def test_guard_sees_red_for_a_sealed_building_then_green(
    live_server, browser_page, gate, compound, building, household, household2, make_resident, make_user
):
    sealed = make_resident(household, name="封控楼居民")
    free = make_resident(household2, name="防范区居民")
    zone(building, "sealed")
    make_user(Role.GATE_GUARD, compound, username="menwei", password="guard-pass-1")
    page = browser_page

    sign_in(page, live_server.url, "menwei", "guard-pass-1")
    page.get_by_role("link", name="门岗", exact=True).first.click()
    expect(page.get_by_role("heading", name="今日门岗")).to_be_visible()
    page.get_by_role("link", name="扫码通行").click()
    page.get_by_label("出", exact=True).check()
    page.get_by_label("居民核酸码或通行证").fill(sampling_code(sealed.pk))
    page.get_by_label("居民核酸码或通行证").press("Enter")
    answer = page.locator("#gate-answer")
    expect(answer).to_have_class("answer refused")
    expect(answer).to_contain_text("不能通行")
    expect(answer).to_contain_text("1号楼为封控区")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "gates-scan-refused.png"), full_page=True)

    page.get_by_label("出", exact=True).check()
    page.get_by_label("居民核酸码或通行证").fill(sampling_code(free.pk))
    page.get_by_label("体温 ℃ (可不填)").fill("36.5")
    page.get_by_role("button", name="确认").click()
    expect(answer).to_have_class("answer allowed")
    expect(answer).to_contain_text("放行")
    expect(page.locator("#recent")).to_contain_text("封控区")
    page.screenshot(path=str(ARTIFACTS / "gates-scan-allowed.png"), full_page=True)
