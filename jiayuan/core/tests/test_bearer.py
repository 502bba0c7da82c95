"""The bearer header as the API reads it (``core.api._Bearer``, straight from ``request.META``):
the scheme in any case, the key after one space; anything else is no token (401), on an endpoint
that looks its token up at once and on one that reads it with its own rows."""

from __future__ import annotations

import pytest

from jiayuan.accounts.services import api_token_create
from jiayuan.core.permissions import Role

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("Bearer {key}", 200),
        ("bearer {key}", 200),
        ("BEARER {key}", 200),
        ("Token {key}", 401),
        ("Bearer", 401),
        ("Bearer ", 401),
        ("{key}", 401),
        ("", 401),
        ("Bearer jy_not-a-live-key", 401),
    ],
)
def test_the_bearer_header(client, make_user, neighbourhood, header, status):
    user = make_user(Role.COMMITTEE_HEAD, neighbourhood)
    _t, key = api_token_create(actor=None, user=user)
    auth = {"HTTP_AUTHORIZATION": header.format(key=key)} if header else {}
    assert client.get("/api/v1/gates", **auth).status_code == status
    # The gate scan reads its token with its own rows: the same header, the same answer to a
    # token that is not one (a body that names no gate is a 404 once the token is good).
    scan = client.post(
        "/api/v1/gate-passages",
        {"gate": 999999, "direction": "in", "resident_code": "R1-AAAAAAAA"},
        content_type="application/json",
        **auth,
    )
    assert scan.status_code == (404 if status == 200 else 401)


@pytest.mark.parametrize("path", ["/api/v1/gate-passages", "/api/v1/rounds/1/samples"])
@pytest.mark.parametrize("body", [b"not json", b"{}"])
def test_a_token_that_is_not_live_is_401_before_the_body(client, path, body):
    """The endpoints that read their token with their own rows: a dead token is a 401 whatever the
    body, a body that is not JSON included (then the body's 422 for a live token)."""
    response = client.post(path, body, content_type="application/json", HTTP_AUTHORIZATION="Bearer jy_dead")
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
