"""In Chromium at phone size: a resident reports a positive antigen test through the household
link, is asked to confirm it, and sees what to do next and the 抗原阳性待核酸复核 state, while
the building's zone level does not change."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from playwright.sync_api import expect

from jiayuan.accounts import services as account_services
from jiayuan.control import services as control_services
from jiayuan.control.choices import ZoneLevel
from jiayuan.control.models import Case
from jiayuan.control.selectors import zone_levels
from jiayuan.screening.models import AntigenReport, Retest

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
# A 1×1 PNG: the photo of the test card.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


@pytest.mark.browser
def test_resident_reports_positive_antigen_and_sees_what_to_do(
    live_server, browser_page, tmp_path, settings, frozen, staff, neighbourhood, building, household, residents
):
    settings.MEDIA_ROOT = tmp_path
    control_services.hotline_update(actor=staff, neighbourhood=neighbourhood, hotline="021-65551234")
    token = account_services.household_link_token(
        account_services.household_link_issue(actor=staff, household=household)
    )
    me = residents["b1"][0]
    before = zone_levels(building_ids=[building.pk])[building.pk]
    assert before == ZoneLevel.PRECAUTION

    page = browser_page
    page.goto(f"{live_server.url}/h/{token}/")
    card = page.locator(".member").filter(has_text=me.name)
    confirm = card.get_by_label("确认结果为阳性?", exact=False)
    expect(confirm).to_be_hidden()  # asked only once 阳性 is chosen
    card.get_by_label("阳性", exact=True).check()
    expect(confirm).to_be_visible()
    expect(card.get_by_text("请拍下检测卡一并上传")).to_be_visible()
    photo = tmp_path / "card.png"
    photo.write_bytes(PNG)
    card.locator('input[type="file"]').set_input_files(str(photo))

    # Without the tick the report is refused with a clear message, and nothing is stored.
    card.get_by_role("button", name="上报").click()
    expect(page.locator(".messages .msg-error")).to_contain_text("确认结果为阳性")
    assert not AntigenReport.objects.filter(resident=me).exists()

    card = page.locator(".member").filter(has_text=me.name)
    card.get_by_label("阳性", exact=True).check()
    card.get_by_label("确认结果为阳性?", exact=False).check()
    card.locator('input[type="file"]').set_input_files(str(photo))
    ARTIFACTS.mkdir(exist_ok=True)
    card.locator("form").screenshot(path=str(ARTIFACTS / "antigen-confirm-step.png"))
    card.get_by_role("button", name="上报").click()

    box = page.locator("#antigen-next")
    expect(box).to_be_visible()
    expect(box).to_contain_text("抗原阳性待核酸复核")
    expect(box).to_contain_text(f"{me.name} 的抗原自测为阳性")
    expect(box).to_contain_text("全家留在家中")
    expect(box).to_contain_text("居委会会打电话给您")
    expect(box.get_by_role("link", name="021-65551234")).to_have_attribute("href", "tel:021-65551234")
    expect(box).to_contain_text("采样人员会上门做单管核酸")
    expect(page.locator(".member").filter(has_text=me.name)).to_contain_text("抗原阳性待核酸复核")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "antigen-awaiting-pcr.png"), full_page=False)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "antigen-awaiting-pcr-top.png"))

    report = AntigenReport.objects.get(resident=me)
    assert report.result == "positive" and report.photo
    assert Retest.objects.get(antigen_report=report).status == "pending"
    assert not Case.objects.exists()
    assert zone_levels(building_ids=[building.pk])[building.pk] == before
