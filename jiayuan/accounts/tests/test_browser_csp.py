"""In Chromium: every page in the head's menu loads under the Content-Security-Policy without a
single violation, htmx still sends its CSRF header (hx-headers), and a confirm still asks."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from jiayuan.conftest import sign_in
from jiayuan.core.permissions import Role


@pytest.mark.browser
def test_the_heads_pages_load_without_a_csp_violation(
    live_server, browser_page, make_user, neighbourhood, household, make_resident
):
    make_user(Role.COMMITTEE_HEAD, neighbourhood, username="head", password="head-pass-1")
    volunteer = make_user(Role.VOLUNTEER, neighbourhood, username="vol")
    resident = make_resident(household, name="王五", id_number="310113198001010013", phone="13812345678")
    page = browser_page
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: violations.append(str(e)))

    sign_in(page, live_server.url, "head", "head-pass-1")
    expect(page.locator("nav.menu")).to_be_visible()
    links = page.eval_on_selector_all("nav.menu a, .tools a", "els => els.map(e => e.getAttribute('href'))")
    assert len(links) >= 5
    for href in dict.fromkeys(links):
        page.goto(f"{live_server.url}{href}")
        page.wait_for_load_state("networkidle")
        assert page.locator("main").count() == 1, href

    # htmx under the policy: 查看 reveals the phone through hx-post with the CSRF header.
    page.goto(f"{live_server.url}/people/{resident.pk}/")
    expect(page.locator("main")).not_to_contain_text("13812345678")
    page.locator("form[hx-target='#phone'] button").click()
    expect(page.locator("main")).to_contain_text("13812345678")

    # data-confirm (was an inline onsubmit): dismissing keeps the role, accepting revokes it.
    page.goto(f"{live_server.url}/team/{volunteer.pk}/")
    page.once("dialog", lambda d: d.dismiss())
    page.get_by_role("button", name="收回").click()
    expect(page.locator("#roles")).not_to_contain_text("已收回")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="收回").click()
    expect(page.locator("#roles")).to_contain_text("已收回")

    # The API's Swagger page, from the app's own static files.
    page.goto(f"{live_server.url}/api/v1/docs")
    expect(page.locator(".opblock").first).to_be_visible()

    assert violations == []
