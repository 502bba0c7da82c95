"""A NUL character anywhere a user can type is a clear 400/422, never a 500 (PostgreSQL text
cannot hold NUL: the roster search ``/people/?q=%00`` used to fail in the database)."""

from __future__ import annotations

import json

import pytest

from jiayuan.accounts.services import api_token_create
from jiayuan.core.permissions import Role
from jiayuan.people.models import Resident
from jiayuan.screening.models import Round

pytestmark = pytest.mark.django_db


@pytest.fixture
def head(make_user, neighbourhood):
    return make_user(Role.COMMITTEE_HEAD, neighbourhood)


@pytest.mark.parametrize("url", ["/people/", "/team/", "/control/cases/", "/audit/", "/screening/"])
def test_nul_in_a_query_string_is_a_400(client, head, url):
    client.force_login(head)
    resp = client.get(url, {"q": "王\x00", "page": "1"})
    assert resp.status_code == 400 and "空字符" in resp.content.decode()
    resp = client.get(url, {"q": ["ok", "\x00"]})  # a repeated key: every value is looked at
    assert resp.status_code == 400
    assert client.get(url, {"q": "王"}).status_code == 200


def test_nul_in_an_api_body_or_query_is_a_422_with_a_message(client, head, household):
    _t, key = api_token_create(actor=None, user=head)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    body = json.dumps({"household": household.pk, "name": "张\u0000三", "id_type": "mainland"})
    resp = client.post("/api/v1/residents", body, content_type="application/json", **auth)
    assert resp.status_code == 422, resp.content
    assert resp.json()["errors"][0]["message"].startswith("输入中不能含有空字符")
    assert not Resident.objects.exists()
    assert client.get("/api/v1/residents", {"q": "\x00"}, **auth).status_code == 422
    assert client.get("/api/v1/residents", {"q": "张"}, **auth).status_code == 200


def test_nul_in_a_body_of_any_declared_type_is_a_422(client, head, household):
    """The API parses a body whatever its Content-Type says: a text/plain JSON body counts too."""
    _t, key = api_token_create(actor=None, user=head)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    body = json.dumps({"date": "2026-04-10", "stations": [{"name": "南门\u0000", "samplers": 1, "swabs_per_hour": 60}]})
    for content_type in ("text/plain", "application/json; charset=utf-8", "application/octet-stream"):
        resp = client.post("/api/v1/rounds", body, content_type=content_type, **auth)
        assert resp.status_code == 422, (content_type, resp.content)
    assert not Round.objects.exists()


def test_a_literal_backslash_u0000_in_json_is_not_a_nul(client, head, household):
    """JSON ``"\\\\u0000"`` is a backslash followed by ``u0000``: text, accepted."""
    _t, key = api_token_create(actor=None, user=head)
    name = "南门 \\u0000"
    body = json.dumps({"date": "2026-04-10", "stations": [{"name": name, "samplers": 1, "swabs_per_hour": 60}]})
    assert "\\\\u0000" in body
    resp = client.post("/api/v1/rounds", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert resp.status_code == 201, resp.content
    assert Round.objects.get().stations.get().name == name


def test_nul_in_a_posted_form_is_a_400_even_where_a_view_reads_request_post(client, head):
    client.force_login(head)
    resp = client.post("/team/new/", {"display_name": "李四", "username": "li.si", "note": "x\x00y"})
    assert resp.status_code == 400
    resp = client.post("/team/new/", {"display_name": "李\x00四"}, format="multipart")
    assert resp.status_code == 400
