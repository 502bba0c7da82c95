"""Phone-sized details (issue 15): tel: links where the full number is shown, display names
instead of logins, 您 throughout, finger-sized targets."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.urls import reverse

from jiayuan.core.permissions import Role

PACKAGE = Path(__file__).resolve().parents[2]


@pytest.fixture
def resident(household, make_resident):
    return make_resident(household, name="王秀英", phone="13812345678")


@pytest.fixture
def staff(make_user, neighbourhood):
    user = make_user(Role.COMMITTEE_STAFF, neighbourhood, username="staff")
    user.display_name = "小李"
    user.save(update_fields=["display_name"])
    return user


def test_a_phone_is_a_tel_link_once_revealed_and_only_then(client, staff, resident):
    client.force_login(staff)
    page = client.get(reverse("people:detail", args=[resident.pk])).content.decode()
    assert "tel:" not in page  # masked: nothing to dial, and no dialling around the audited reveal
    fragment = client.post(reverse("people:reveal", args=[resident.pk, "phone"]), HTTP_HX_REQUEST="true")
    assert 'href="tel:13812345678"' in fragment.content.decode()
    without_js = client.post(reverse("people:reveal", args=[resident.pk, "phone"])).content.decode()
    assert 'href="tel:13812345678"' in without_js
    id_fragment = client.post(reverse("people:reveal", args=[resident.pk, "id_number"]), HTTP_HX_REQUEST="true")
    assert "tel:" not in id_fragment.content.decode()


def test_case_history_names_who_by_display_name(client, staff, resident):
    from jiayuan.control import services as control_services

    case = control_services.case_record(
        actor=staff, resident=resident, detected_on=dt.date.today(), source="district_notice"
    )
    client.force_login(staff)
    page = client.get(reverse("control:case", args=[case.pk])).content.decode()
    assert "小李" in page
    assert '<small class="muted">staff</small>' not in page


def test_the_user_is_addressed_as_nin():
    """您, not 你, in every page and message (tests and translations aside)."""
    offenders = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for path in [*PACKAGE.rglob("*.html"), *PACKAGE.rglob("*.py")]
        if "tests" not in path.parts and "locale" not in path.parts
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "你" in line
    ]
    assert not offenders


def test_small_controls_are_finger_sized():
    css = (PACKAGE / "static" / "jiayuan" / "app.css").read_text(encoding="utf-8")

    def rule(selector_part: str) -> str:
        match = re.search(r"([^{}]*" + re.escape(selector_part) + r"[^{}]*)\{([^}]*)\}", css)
        assert match, selector_part
        return match.group(2)

    for selector in (
        "input[type=time]",
        "input[type=number]",
        "label:where(:has(> input[type=checkbox])",
        ".btn.small",
        "#building-progress td a",
        ".menu a",
        'a[href^="tel:"]',
    ):
        assert "min-height: 44px" in rule(selector), selector


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_on_a_phone_the_menu_shows_it_scrolls_and_every_control_is_finger_sized(
    live_server, browser_page, make_user, neighbourhood
):
    from jiayuan.conftest import sign_in

    make_user(Role.COMMITTEE_HEAD, neighbourhood, username="head", password="head-pass-1")
    page = browser_page
    sign_in(page, live_server.url, "head", "head-pass-1")
    page.goto(f"{live_server.url}{reverse('core:audit')}")

    def hint() -> float:
        return float(page.evaluate("getComputedStyle(document.querySelector('.topbar'), '::after').opacity"))

    assert page.evaluate("(m => m.scrollWidth > m.clientWidth)(document.querySelector('nav.menu'))")
    assert hint() == 1  # "›" at the right edge while there is more menu
    page.evaluate("document.querySelector('nav.menu').scrollLeft = 10000")
    page.wait_for_function("getComputedStyle(document.querySelector('.topbar'), '::after').opacity === '0'")
    heights = page.evaluate(
        "[...document.querySelectorAll('nav.menu a, .tools a, .tools button, .filters select, .filters input')]"
        ".map(e => [e.textContent.trim() || e.name, e.getBoundingClientRect().height])"
    )
    assert heights
    assert not [h for h in heights if h[1] < 44], heights


def test_pages_show_people_by_display_name_not_login():
    """Who did something (confirmed, delivered, reviewed …) is shown by display name (``str(user)``);
    only the sign-in and team pages, where the login itself matters, print ``username``."""
    offenders = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for path in PACKAGE.rglob("*.html")
        if "tests" not in path.parts and "accounts" not in path.parts and path.name != "base.html"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if ".username" in line or ".get_username" in line
    ]
    assert not offenders
