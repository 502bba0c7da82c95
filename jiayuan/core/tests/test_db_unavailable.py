"""A database outage is a 503 with Retry-After (JSON for the API), not a 500 (issue #13)."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client

from jiayuan.accounts.services import api_token_create
from jiayuan.core.permissions import Role

pytestmark = pytest.mark.django_db


def _fail(*args, **kwargs):
    raise OperationalError("server closed the connection unexpectedly")


def test_an_api_call_during_a_database_restart_is_a_503_with_json_and_retry_after(
    monkeypatch, make_user, neighbourhood
):
    user = make_user(Role.COMMITTEE_HEAD, neighbourhood)
    _token, key = api_token_create(actor=None, user=user)
    monkeypatch.setattr("jiayuan.places.selectors.building_list", _fail)
    response = Client().get("/api/v1/buildings", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "db_unavailable"


def test_a_page_during_a_database_restart_is_a_503_page(monkeypatch, make_user, neighbourhood, client):
    user = make_user(Role.COMMITTEE_HEAD, neighbourhood)
    client.force_login(user)
    monkeypatch.setattr("jiayuan.core.views.resident_counts", _fail)
    response = client.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "请稍后重试" in response.content.decode()


def test_an_outage_in_a_middleware_before_the_view_is_a_503_too(monkeypatch, make_user, neighbourhood):
    user = make_user(Role.COMMITTEE_HEAD, neighbourhood)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    monkeypatch.setattr("django.contrib.sessions.backends.db.SessionStore.load", _fail)
    response = client.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"


def test_other_errors_stay_500s(monkeypatch, make_user, neighbourhood):
    user = make_user(Role.COMMITTEE_HEAD, neighbourhood)
    client = Client(raise_request_exception=False)
    client.force_login(user)

    def boom(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("jiayuan.core.views.resident_counts", boom)
    assert client.get("/").status_code == 500


def test_an_unknown_api_path_is_a_json_404_and_a_page_path_the_site_page(client):
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api.json()["code"] == "not_found"
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert "找不到这个页面" in page.content.decode()
