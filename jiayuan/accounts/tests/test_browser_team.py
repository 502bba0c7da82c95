"""In Chromium at phone size: the committee head adds a volunteer on the Team page, gets the
sign-in message to send, and the volunteer signs in with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from jiayuan.accounts.models import Assignment
from jiayuan.conftest import sign_in
from jiayuan.core.permissions import Role

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.mark.browser
def test_head_adds_a_volunteer_on_a_phone(live_server, browser_page, make_user, neighbourhood, building):
    make_user(Role.COMMITTEE_HEAD, neighbourhood, username="head", password="head-pass-1")
    page = browser_page
    sign_in(page, live_server.url, "head", "head-pass-1")
    page.get_by_role("navigation").get_by_role("link", name="团队").click()
    expect(page.locator("#team")).to_contain_text("书记/主任")  # the head is on their own team
    page.get_by_role("link", name="添加成员").click()
    page.get_by_label("姓名").fill("赵志愿")
    page.get_by_label("用户名(登录用)").fill("zhao.v")
    page.get_by_label("角色").select_option(Role.VOLUNTEER)
    page.get_by_label("负责范围").select_option(f"building:{building.pk}")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "team-new.png"), full_page=True)
    page.get_by_role("button", name="添加并生成初始密码").click()
    expect(page.locator("#credentials")).to_contain_text("用户名: zhao.v")
    password = page.locator("#new-password").inner_text().strip()
    page.screenshot(path=str(ARTIFACTS / "team-password.png"), full_page=True)
    assert Assignment.objects.filter(user__username="zhao.v", role=Role.VOLUNTEER, building=building).exists()

    page.get_by_role("link", name="完成").click()
    expect(page.locator("#roles")).to_contain_text("志愿者")
    page.get_by_role("navigation").get_by_role("link", name="团队").click()
    expect(page.locator("#team")).to_contain_text("赵志愿")
    page.screenshot(path=str(ARTIFACTS / "team-list.png"), full_page=True)

    page.get_by_role("button", name="退出").click()
    sign_in(page, live_server.url, "zhao.v", password)
    # A password someone else chose: the first page is "change password".
    expect(page.get_by_role("heading", name="修改密码")).to_be_visible()
    expect(page.locator(".msg")).to_contain_text("别人替您设置")
    page.locator("#id_old_password").fill(password)
    page.locator("#id_new_password1").fill("Zhao-Own-1357")
    page.locator("#id_new_password2").fill("Zhao-Own-1357")
    page.get_by_role("button", name="保存新密码").click()
    expect(page.locator(".msg-success")).to_contain_text("密码已修改")
