"""In Chromium at phone size: the owners' committee logs a patrol finding and hands it to the
property company; the property account fixes it; the owners' committee checks it (issue 10)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from jiayuan.conftest import sign_in
from jiayuan.core.permissions import Role
from jiayuan.operations.models import Task

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
PASSWORD = "ops-pass-1234"


@pytest.mark.browser
def test_finding_fixed_by_the_property_account_and_checked(
    live_server, browser_page, neighbourhood, building, make_user
):
    make_user(Role.OWNERS_COMMITTEE, neighbourhood, username="yewei", password=PASSWORD)
    make_user(Role.PROPERTY_STAFF, neighbourhood, username="wuye", password=PASSWORD)
    page = browser_page
    ARTIFACTS.mkdir(exist_ok=True)

    sign_in(page, live_server.url, "yewei", PASSWORD)
    page.goto(f"{live_server.url}/operations/findings/new/")
    page.get_by_label("发现了什么").select_option("garbage_overflow")
    page.get_by_label("楼栋").select_option(str(building.pk))
    page.get_by_label("地点").fill("1号楼垃圾桶")
    page.get_by_label("情况说明").fill("湿垃圾桶满溢")
    page.screenshot(path=str(ARTIFACTS / "operations-finding-form.png"), full_page=True)
    page.get_by_role("button", name="登记").click()
    expect(page.locator("#task-status")).to_have_text("待分派")
    task = Task.objects.get()
    page.get_by_label("交给").select_option("property")
    page.get_by_role("button", name="分派").click()
    expect(page.locator("#task-status")).to_have_text("整改中")

    page.context.clear_cookies()
    sign_in(page, live_server.url, "wuye", PASSWORD)
    page.goto(f"{live_server.url}/operations/tasks/")
    page.get_by_role("link", name="垃圾满溢 · 1号楼垃圾桶").click()
    expect(page.get_by_role("button", name="验收通过")).to_have_count(0)  # the property company does not check
    page.get_by_label("说明").fill("已清运并消杀")
    page.get_by_role("button", name="已整改").click()
    expect(page.locator("#task-status")).to_have_text("已整改待验收")
    page.screenshot(path=str(ARTIFACTS / "operations-task-fixed.png"), full_page=True)

    page.context.clear_cookies()
    sign_in(page, live_server.url, "yewei", PASSWORD)
    page.goto(f"{live_server.url}/operations/tasks/{task.pk}/")
    page.get_by_role("button", name="验收通过").click()
    expect(page.locator("#task-status")).to_have_text("已验收")
    page.screenshot(path=str(ARTIFACTS / "operations-task-checked.png"), full_page=True)
    task.refresh_from_db()
    assert task.status == "checked" and task.fixed_by.username == "wuye" and task.checked_by.username == "yewei"
