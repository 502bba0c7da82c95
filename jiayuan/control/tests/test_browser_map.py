"""In Chromium: the isolation map draws a building with a case detected 2 days ago as sealed,
shows the legend, and colours the household cell positive."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jiayuan.conftest import sign_in
from jiayuan.control import services
from jiayuan.control.choices import CaseSource
from jiayuan.core.permissions import Role

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.mark.browser
def test_isolation_map_draws_sealed_building(
    live_server, browser_page, building, building2, household, make_resident, make_user, neighbourhood
):
    resident = make_resident(household, name="陈阳性")
    services.case_record(
        actor=None,
        resident=resident,
        detected_on=timezone.localdate() - dt.timedelta(days=2),
        source=CaseSource.PCR_ROUND,
    )
    make_user(Role.COMMITTEE_STAFF, neighbourhood, username="staff", password="staff-pass-1")
    page = browser_page
    sign_in(page, live_server.url, "staff", "staff-pass-1")
    page.get_by_role("link", name="防控", exact=True).click()
    page.get_by_role("link", name="家庭隔离分布图").first.click()

    legend = page.locator("#legend")
    expect(legend).to_contain_text("封控区")
    expect(legend).to_contain_text("阳性")
    sealed = page.locator(f'article.bmap[data-building="{building.pk}"]')
    expect(sealed).to_have_attribute("data-level", "sealed")
    expect(sealed.locator("header")).to_contain_text("封控区")
    header_bg = sealed.locator("header").evaluate("el => getComputedStyle(el).backgroundColor")
    assert header_bg == "rgb(192, 57, 43)"
    cell = sealed.locator(f'[data-household="{household.pk}"]')
    expect(cell).to_have_attribute("data-mark", "positive")
    expect(cell).to_contain_text("陈阳性")
    assert cell.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(192, 57, 43)"
    other = page.locator(f'article.bmap[data-building="{building2.pk}"]')
    expect(other).to_have_attribute("data-level", "precaution")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "control-map.png"), full_page=True)
