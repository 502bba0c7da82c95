"""In Chromium: a building leader logs in, opens their building, sees its residents and not
another building's."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from jiayuan.conftest import sign_in
from jiayuan.core.permissions import Role

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.mark.browser
def test_building_leader_sees_own_building_only(
    live_server, browser_page, building, building2, household, household2, make_resident, make_user
):
    make_resident(household, name="周建国", phone="13900001111", tags=["elderly_alone"])
    make_resident(household2, name="吴别人")
    make_user(Role.BUILDING_LEADER, building, username="leader", password="leader-pass-1")
    page = browser_page

    sign_in(page, live_server.url, "leader", "leader-pass-1")
    expect(page.get_by_role("heading", name="您好, leader")).to_be_visible()

    page.get_by_role("link", name="楼栋", exact=True).click()
    page.get_by_role("link", name="泰和苑").click()
    tiles = page.locator("a.tile")
    expect(tiles).to_have_count(1)
    expect(tiles.first).to_contain_text("1号楼")
    tiles.first.click()

    table = page.locator("#households")
    expect(table).to_contain_text("周建国")
    expect(table).to_contain_text("独居老人")
    expect(table).not_to_contain_text("吴别人")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "leader-building.png"), full_page=True)

    # The other building is not there for this leader: same answer as a building that doesn't exist.
    response = page.goto(f"{live_server.url}/places/buildings/{building2.pk}/")
    assert response.status == 404

    # Resident detail: phone masked.
    page.goto(f"{live_server.url}/places/buildings/{building.pk}/")
    page.get_by_role("link", name="周建国").click()
    expect(page.locator("#phone")).to_have_text("139****1111")
    page.get_by_role("button", name="查看").nth(0).click()
    expect(page.locator(".revealed")).to_have_text("13900001111")
