"""A NUL character anywhere a user can type is a clear 400/422, never a 500 (PostgreSQL text
cannot hold NUL: the roster search ``/people/?q=%00`` used to fail in the database)."""

from __future__ import annotations

import json

import pytest

from jiayuan.accounts.services import api_token_create
from jiayuan.core.permissions import Role
from jiayuan.people.models import Resident

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


def test_a_form_post_with_nul_is_a_field_error(client, head):
    client.force_login(head)
    resp = client.post("/team/new/", {"display_name": "李\x00四", "username": "li.si"})
    assert resp.status_code == 200 and resp.context["form"].errors.get("display_name")
