"""Every list endpoint bounds limit and offset: out-of-range values are a 422 naming the field,
never a 500 from the database (an offset beyond bigint on PostgreSQL, a LIMIT SQLite can't hold)."""

from __future__ import annotations

import pytest

from jiayuan.core.permissions import Role

LISTS = [
    "/api/v1/buildings",
    "/api/v1/residents",
    "/api/v1/zones",
    "/api/v1/quarantines",
    "/api/v1/group-buys",
]


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize(
    ("query", "field"), [("offset=9223372036854775808", "offset"), ("offset=-1", "offset"), ("limit=0", "limit")]
)
def test_out_of_range_paging_is_a_field_error(client, neighbourhood, make_user, url, query, field):
    client.force_login(make_user(Role.COMMITTEE_HEAD, neighbourhood, username="head"))
    response = client.get(f"{url}?{query}")
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
def test_largest_allowed_offset_is_an_empty_page(client, neighbourhood, make_user, url):
    client.force_login(make_user(Role.COMMITTEE_HEAD, neighbourhood, username="head"))
    response = client.get(f"{url}?offset=1000000000&limit=1000")
    assert response.status_code == 200
    assert response.json()["items"] == []
