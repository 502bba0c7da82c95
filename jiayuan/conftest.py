"""Fixtures shared by every app's tests: a small neighbourhood and users with assignments."""

from __future__ import annotations

import contextlib
import os

import pytest
from django.core.cache import cache
from django.utils import translation

from jiayuan.accounts.models import Assignment, User
from jiayuan.core.permissions import Role
from jiayuan.people import services as people_services
from jiayuan.places import services as places_services

# Playwright's sync API runs an event loop in the test thread; the ORM calls made there are still
# synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _fast_settings(settings, tmp_path_factory):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.JIAYUAN_TASK_RUNNER = "inline"
    # Two-factor sign-in is tested on its own (accounts/tests/test_two_factor.py); elsewhere the
    # tests sign in as heads and staff with the password alone.
    settings.JIAYUAN_2FA_REQUIRED = False
    # Wrong-password counts live in the (per-process) cache: one test's failures must not lock
    # another test's sign-in.
    cache.clear()
    # Uploaded files (antigen photos, import files) go to a throwaway folder, never to var/.
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")
    yield
    # A request made in English leaves English active in this thread: don't let it leak.
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def street(db):
    return places_services.street_create(actor=None, code="S1", name="高境镇")


@pytest.fixture
def neighbourhood(street):
    return places_services.neighbourhood_create(actor=None, street=street, code="T1", name="泰和居民区")


@pytest.fixture
def other_neighbourhood(street):
    return places_services.neighbourhood_create(actor=None, street=street, code="T2", name="红御居民区")


@pytest.fixture
def compound(neighbourhood):
    return places_services.compound_create(actor=None, neighbourhood=neighbourhood, name="泰和苑")


@pytest.fixture
def building(compound):
    return places_services.building_create(actor=None, compound=compound, number="1", units=2, floors=6)


@pytest.fixture
def building2(compound):
    return places_services.building_create(actor=None, compound=compound, number="2", units=2, floors=6)


@pytest.fixture
def household(building):
    return places_services.household_create(actor=None, building=building, unit="1", room="301")


@pytest.fixture
def household2(building2):
    return places_services.household_create(actor=None, building=building2, unit="1", room="502")


# Valid mainland ID numbers (checksums correct) for tests.
ID_NUMBERS = [
    "310113198001010013",
    "31011319850615002X",
    "310113199003030039",
    "310113201207070040",
    "310113194502020051",
]


@pytest.fixture
def make_resident():
    def make(household, name="张三", id_number="", phone="", **kw):
        return people_services.resident_create(
            actor=None,
            neighbourhood_id=household.neighbourhood_id,
            household=household,
            name=name,
            id_number=id_number,
            phone=phone,
            **kw,
        )

    return make


@pytest.fixture
def make_user(db):
    """``make_user(role, scope)``: a user with one assignment of ``role`` over ``scope``."""
    counter = {"n": 0}

    def make(role: str | None = None, scope=None, username: str | None = None, password: str = "pass-1234"):
        counter["n"] += 1
        user = User.objects.create_user(username=username or f"user{counter['n']}", password=password)
        if role is not None:
            level = type(scope).__name__.lower()
            Assignment.objects.create(user=user, role=role, level=level, **{level: scope})
        return user

    return make


@pytest.fixture
def head(make_user, neighbourhood):
    return make_user(Role.COMMITTEE_HEAD, neighbourhood, username="head")


@contextlib.contextmanager
def phone_page(extra_args: list[str] | None = None):
    """A phone-sized page (390×844, zh-CN) in Debian's Chromium; ``extra_args`` for Chromium."""
    from django.db import connections
    from playwright.sync_api import sync_playwright

    from jiayuan.core.browser import launch

    with sync_playwright() as p:
        browser = launch(p, extra_args)
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        page = context.new_page()
        try:
            yield page
        finally:
            context.close()
            browser.close()
            # The test body ran while Playwright's event loop was current, so its database
            # connection lives in that context: close it here, or pytest-django cannot drop
            # the PostgreSQL test database ("being accessed by other users").
            connections.close_all()


def sign_in(page, base_url: str, username: str, password: str) -> None:
    """Sign in through the real login form, as a person would."""
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


@pytest.fixture
def browser_page():
    """A phone-sized page (390×844, zh-CN) in Debian's Chromium, for ``@pytest.mark.browser`` tests."""
    with phone_page() as page:
        yield page
