"""In Chromium at phone size: a committee head on real data signs in, is taken to enrolment,
scans (reads) the key, confirms with the code, keeps the backup codes, and next time gives a
backup code after the password. Screenshots go to test-artifacts/."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from jiayuan.conftest import sign_in
from jiayuan.core.permissions import Role

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.mark.browser
def test_a_head_enrols_and_signs_in_with_a_backup_code(live_server, browser_page, make_user, neighbourhood, settings):
    settings.JIAYUAN_2FA_REQUIRED = True
    make_user(Role.COMMITTEE_HEAD, neighbourhood, username="head", password="head-pass-1")
    page = browser_page
    ARTIFACTS.mkdir(exist_ok=True)

    sign_in(page, live_server.url, "head", "head-pass-1")
    expect(page.get_by_role("heading", name="开启两步验证")).to_be_visible()
    expect(page.locator("#otp-qr svg")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "2fa-setup.png"), full_page=True)
    key = base64.b32decode(page.locator("#otp-key").inner_text().replace(" ", ""))
    page.get_by_label("验证码").fill(str(totp(key)).zfill(6))
    page.get_by_role("button", name="确认开启").click()

    expect(page.locator("#backup-codes li")).to_have_count(10)
    backup = page.locator("#backup-codes li").first.inner_text().strip()
    page.screenshot(path=str(ARTIFACTS / "2fa-backup-codes.png"), full_page=True)
    page.get_by_role("link", name="我已保存, 继续").click()
    expect(page.get_by_role("link", name="我的账号")).to_be_visible()

    page.get_by_role("link", name="我的账号").click()
    expect(page.locator("#two-factor")).to_contain_text("已开启")
    page.screenshot(path=str(ARTIFACTS / "2fa-account.png"), full_page=True)

    page.get_by_role("button", name="退出").click()
    sign_in(page, live_server.url, "head", "head-pass-1")
    expect(page.get_by_role("heading", name="两步验证")).to_be_visible()
    page.get_by_label("验证码").fill("000000")
    page.get_by_role("button", name="验证").click()
    expect(page.locator(".errorlist")).to_contain_text("验证码不对")
    page.screenshot(path=str(ARTIFACTS / "2fa-verify-wrong.png"), full_page=True)
    page.wait_for_timeout(1500)  # django-otp makes the next try wait a second after a wrong code
    page.get_by_label("验证码").fill(backup)
    page.get_by_role("button", name="验证").click()
    expect(page.locator(".msg-warning")).to_contain_text("还剩 9 个")
    page.screenshot(path=str(ARTIFACTS / "2fa-signed-in.png"), full_page=True)


@pytest.mark.browser
def test_the_lockout_message_on_a_phone(live_server, browser_page, make_user, neighbourhood):
    make_user(Role.VOLUNTEER, neighbourhood, username="vol", password="vol-pass-1")
    page = browser_page
    for _ in range(5):
        sign_in(page, live_server.url, "vol", "wrong")
    expect(page.locator(".errorlist")).to_contain_text("登录失败次数过多")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "login-locked.png"), full_page=True)
    sign_in(page, live_server.url, "vol", "vol-pass-1")
    expect(page.locator(".errorlist")).to_contain_text("登录失败次数过多")
