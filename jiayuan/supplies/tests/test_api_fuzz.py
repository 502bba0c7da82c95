"""Bad input to the supplies API is a 4xx with Chinese field messages, never a 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiayuan.supplies.tests.conftest import item_ids

pytestmark = pytest.mark.django_db

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=30),
    st.floats(allow_nan=False),
)
json_values = st.recursive(
    json_scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3), max_leaves=8
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.fixed_dictionaries(
        {},
        optional={
            "token": json_values,
            "household": json_values,
            "resident": json_values,
            "items": st.one_of(
                json_values, st.lists(st.fixed_dictionaries({"item": json_values, "quantity": json_values}), max_size=3)
            ),
            "delivery_mode": json_values,
            "idempotency_key": st.one_of(json_values, st.text(max_size=300)),
        },
    ),
    gb_id=st.integers(min_value=-(2**70), max_value=2**70),
)
def test_order_endpoint_never_500(client, open_buy, household, link_token, body, gb_id):
    token = link_token(household)
    for url in (f"/api/v1/group-buys/{open_buy.pk}/orders", f"/api/v1/group-buys/{gb_id}/orders"):
        for b in (
            body,
            {**body, "token": token},
            {**body, "token": token, "items": [{"item": item_ids(open_buy)[0], "quantity": 1}]},
        ):
            r = client.post(url, b, content_type="application/json")
            assert r.status_code < 500, (url, b, r.content)


@pytest.mark.parametrize(
    "extra",
    [
        {"idempotency_key": "a\x00b"},
        {"items": [{"item": 2**63, "quantity": 1}]},
        {"items": [{"item": 2**31, "quantity": 1}]},
        {"household": 2**63},
        {"resident": 2**63},
        {"token": "a\x00b"},
    ],
)
def test_order_edge_values_never_500(client, open_buy, household, link_token, head, extra):
    from jiayuan.supplies.tests.test_api import bearer

    url = f"/api/v1/group-buys/{open_buy.pk}/orders"
    base = {"items": [{"item": item_ids(open_buy)[0], "quantity": 1}]}
    for b in ({**base, "token": link_token(household), **extra}, {**base, "household": household.pk, **extra}):
        r = client.post(url, b, content_type="application/json", **bearer(head))
        assert r.status_code < 500, (b, r.content)
    r = client.post(
        f"/api/v1/group-buys/{2**63}/orders", {**base, "token": link_token(household)}, content_type="application/json"
    )
    assert r.status_code == 404
    r = client.post(
        "/api/v1/appointments",
        {"window": 2**63, "quantity": 1, "token": link_token(household), **extra},
        content_type="application/json",
    )
    assert r.status_code < 500, r.content
    r = client.get(f"/api/v1/group-buys/{2**63}/sorting", **bearer(head))
    assert r.status_code == 404
