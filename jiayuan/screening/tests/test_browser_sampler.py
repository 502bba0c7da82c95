"""In Chromium at phone size: a sampler logs in, opens the sampler page, opens a tube, scans
residents until it is full, and sees the full/closed feedback."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from jiayuan.conftest import sign_in
from jiayuan.screening import services
from jiayuan.screening.models import Tube

from .conftest import code

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.mark.browser
def test_sampler_fills_a_tube_on_a_phone(live_server, browser_page, frozen, neighbourhood, staff, sampler, residents):
    round_ = services.round_create(actor=staff, neighbourhood=neighbourhood, date=frozen, pool_size=5)
    people = residents["b1"] + residents["b2"]
    page = browser_page
    sign_in(page, live_server.url, "sampler", "sampler-pass-1")
    page.get_by_role("link", name="采样", exact=True).click()
    page.wait_for_load_state("load")  # htmx and the page script are ready, as for a sampler at the table
    status = page.locator("#scan-status")
    expect(status).to_contain_text("请扫描试管条码开管")

    field = page.locator("#scan-code")
    field.fill("TB-0001")
    field.press("Enter")
    expect(status).to_contain_text("已开管 TB-0001")
    expect(status).to_have_class("status state-tube")

    for i, r in enumerate(people[:4], start=1):
        page.locator("#scan-code").fill(code(r))
        page.locator("#scan-code").press("Enter")
        expect(page.locator("#tube-fill")).to_have_text(f"{i}/5")
        expect(status).to_have_class("status state-ok")

    # The same resident again: a clear error, nothing stored.
    page.locator("#scan-code").fill(code(people[0]))
    page.locator("#scan-code").press("Enter")
    expect(status).to_have_class("status state-error")
    expect(status).to_contain_text("已采样")

    page.locator("#scan-code").fill(code(people[4]))
    page.get_by_role("button", name="确认").click()
    expect(status).to_have_class("status state-full")
    expect(status).to_contain_text("已满 5/5, 已封管")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sampler-full.png"), full_page=True)

    # The tube is closed: the next resident scan asks for a new tube.
    page.locator("#scan-code").fill(code(people[5]))
    page.locator("#scan-code").press("Enter")
    expect(status).to_contain_text("请先扫描试管条码开管")
    tube = Tube.objects.get(round=round_, barcode="TB-0001")
    assert tube.fill_count == 5 and tube.status == "closed"

    # The last swab was the wrong person: undo it within the minute; the tube opens again at 4/5.
    undo = page.get_by_role("button", name=f"撤销上一条: {people[4].name}")
    expect(undo).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "sampler-undo.png"))
    undo.click()
    expect(status).to_contain_text(f"已撤销 {people[4].name}")
    expect(page.locator("#tube-fill")).to_have_text("4/5")
    tube.refresh_from_db()
    assert tube.fill_count == 4 and tube.status == "open"
