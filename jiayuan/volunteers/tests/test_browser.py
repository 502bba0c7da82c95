"""In Chromium at phone size: a volunteer claims a shift, checks in, and the duty board shows
them on duty; the committee sees the board with the short shift in red."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jiayuan.conftest import sign_in
from jiayuan.core.permissions import Role
from jiayuan.volunteers import services

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.mark.browser
def test_volunteer_claims_checks_in_and_is_on_the_board(
    live_server, browser_page, head, team, make_volunteer, household, building, make_user
):
    user = make_user(Role.VOLUNTEER, building, username="xiaozhao", password="vol-pass-1")
    v = make_volunteer(household, team=team, name="小赵")
    services.volunteer_link_user(actor=head, volunteer=v, user=user)
    start = timezone.localtime() - dt.timedelta(hours=1)
    end = start + dt.timedelta(hours=4)
    shift = services.shift_create(
        actor=head,
        team=team,
        date=start.date(),
        start=start.time().replace(second=0, microsecond=0),
        end=end.time().replace(second=0, microsecond=0),
        needed=2,
        place="1号门",
    )
    page = browser_page
    sign_in(page, live_server.url, "xiaozhao", "vol-pass-1")
    page.get_by_role("link", name="志愿者").first.click()
    mine = page.locator("#my-shifts")
    expect(mine).to_contain_text("可认领的班次")
    mine.get_by_role("button", name="认领").click()
    expect(page.get_by_text("认领成功")).to_be_visible()
    page.locator("#my-shifts").get_by_role("button", name="签到上岗").click()
    expect(page.get_by_text("小赵 已签到")).to_be_visible()
    board = page.locator(f"#team-{team.pk}")
    expect(board).to_contain_text("小赵 · 在岗")
    expect(board.locator(".vol-shift.vol-short")).to_have_count(1)  # one more person needed
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "volunteers-my-shifts.png"), full_page=True)
    assert shift.assignments.get().status == "checked_in"

    sign_in(page, live_server.url, "head", "pass-1234")
    page.goto(f"{live_server.url}/volunteers/")
    expect(page.locator(f"#team-{team.pk}")).to_contain_text("小赵 · 在岗")
    expect(page.locator(f"#team-{team.pk} textarea")).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "volunteers-duty-board.png"), full_page=True)
