"""In Chromium: a household orders through its link, and the building leader's sorting sheet
for that building shows the order's quantities."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from jiayuan.conftest import sign_in
from jiayuan.core.permissions import Role

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.mark.browser
def test_household_orders_and_the_building_sorting_sheet_shows_it(
    live_server, browser_page, open_buy, household, building, make_user, link_token
):
    token = link_token(household)
    make_user(Role.BUILDING_LEADER, building, username="louzhang", password="leader-pass-1")
    page = browser_page

    page.goto(f"{live_server.url}/h/{token}/")
    page.get_by_role("link", name="团购下单、投票与预约").click()
    expect(page.get_by_role("heading", name="团购与物资")).to_be_visible()
    page.locator(f"#gb-{open_buy.pk}").get_by_role("link", name="下单").click()
    page.get_by_label("蔬菜包").fill("2")
    page.get_by_label("鸡蛋").fill("3")
    page.get_by_role("button", name="提交订单").click()
    expect(page.get_by_text("下单成功")).to_be_visible()
    expect(page.locator("#my-orders")).to_contain_text("蔬菜包×2")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "supplies-household-order.png"), full_page=True)

    sign_in(page, live_server.url, "louzhang", "leader-pass-1")
    page.get_by_role("link", name="团购物资").click()
    page.get_by_role("link", name=open_buy.title).click()
    page.get_by_role("link", name="1号楼").click()
    sheet = page.locator(f"#building-{building.pk}")
    row = sheet.locator("tbody tr", has_text="301室")
    expect(row.locator("td.num").nth(0)).to_have_text("2")
    expect(row.locator("td.num").nth(1)).to_have_text("3")
    expect(sheet.locator("tfoot")).to_contain_text("212.50")
    page.screenshot(path=str(ARTIFACTS / "supplies-sorting-sheet.png"), full_page=True)
