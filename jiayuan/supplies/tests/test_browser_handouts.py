"""In Chromium: a volunteer ticks a household on the handout page; the row changes in place, the
page does not jump, the building's progress counts up; the tick is undone (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from jiayuan.conftest import sign_in
from jiayuan.core.audit import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.places import services as places
from jiayuan.supplies import services
from jiayuan.supplies.models import HandoutReceipt

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.mark.browser
def test_tick_in_place_see_progress_and_undo(
    live_server, browser_page, head, neighbourhood, building, building2, household, household2, make_user
):
    rooms = [places.household_create(actor=None, building=building, unit=household.unit, room=f"{f}0{n}")
             for f in range(4, 12) for n in (1, 2)]  # fmt: skip
    rnd = services.handout_round_create(actor=head, neighbourhood=neighbourhood, title="保供包", package="米面油")
    make_user(Role.VOLUNTEER, building, username="zhiyuan", password="volunteer-pass-1")
    last = rooms[-1]
    page = browser_page

    sign_in(page, live_server.url, "zhiyuan", "volunteer-pass-1")
    page.goto(f"{live_server.url}/supplies/handouts/{rnd.pk}/")
    progress = page.locator(f"#progress-{building.pk}")
    expect(progress).to_contain_text(f"0 / {len(rooms) + 1}")

    row = page.locator(f"#ho-{last.pk}")
    row.scroll_into_view_if_needed()
    before = page.evaluate("window.scrollY")
    assert before > 0  # the row is further down the page
    row.get_by_role("button", name="已领").click()
    expect(page.locator(f"#ho-{last.pk}")).to_contain_text("✓ 已领")
    expect(progress).to_contain_text(f"1 / {len(rooms) + 1}")
    expect(page.locator("#handout-notice")).to_contain_text("已登记领取")
    assert abs(page.evaluate("window.scrollY") - before) < 20  # swapped in place: no reload, no jump to the top
    assert HandoutReceipt.objects.filter(round=rnd, household=last).exists()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "supplies-handout-ticked.png"))
    page.screenshot(path=str(ARTIFACTS / "supplies-handout-page.png"), full_page=True)

    page.locator(f"#ho-{last.pk}").get_by_role("button", name="撤销").click()
    expect(page.locator(f"#ho-{last.pk}").get_by_role("button", name="已领")).to_be_visible()
    expect(progress).to_contain_text(f"0 / {len(rooms) + 1}")
    expect(page.locator("#handout-notice")).to_contain_text("已撤销领取")
    assert abs(page.evaluate("window.scrollY") - before) < 20
    assert not HandoutReceipt.objects.filter(round=rnd).exists()
    assert AuditEvent.objects.filter(action="supplies.handout_undo", object_id=str(rnd.pk)).count() == 1
