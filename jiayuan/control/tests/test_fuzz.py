"""Garbage into every control endpoint and form: a 4xx or a page with field errors, never a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiayuan.accounts.services import api_token_create, household_link_issue, household_link_token
from jiayuan.control import services
from jiayuan.control.choices import CaseSource, QuarantineReason
from jiayuan.control.tests.conftest import TODAY

pytestmark = pytest.mark.django_db

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=20),
    st.floats(allow_nan=False),
    st.sampled_from(["2022-04-20", "2022-02-30", "36.5", "37.35", "morning", "pcr_round", "cough", "\x00"]),
)
json_values = st.recursive(
    json_scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3), max_leaves=6
)
form_values = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "0", "-1", str(2**70), "2022-04-20", "2022-13-45", "2022-04-20T25:00", "36.5", "99", "\x00"]),
)


@pytest.fixture
def world(frozen, head, building, household, resident):
    case = services.case_record(actor=None, resident=resident, detected_on=TODAY, source=CaseSource.PCR_ROUND)
    q = services.quarantine_start(actor=None, reason=QuarantineReason.RETURNEE_RISK_AREA, resident=resident)
    _t, key = api_token_create(actor=None, user=head)
    token = household_link_token(household_link_issue(actor=None, household=household))
    return {"case": case, "q": q, "auth": {"HTTP_AUTHORIZATION": f"Bearer {key}"}, "token": token}


@SETTINGS
@given(
    body=st.fixed_dictionaries(
        {},
        optional=dict.fromkeys(
            (
                "resident",
                "quarantine",
                "detected_on",
                "date",
                "source",
                "type",
                "slot",
                "temperature",
                "symptoms",
                "symptom_note",
                "door_sensor",
                "notes",
                "reason",
                "release_contacts",
                "idempotency_key",
            ),
            json_values,
        ),
    ),
    some_id=st.integers(min_value=-(2**70), max_value=2**70),
)
def test_api_bodies_never_500(client, world, body, some_id):
    auth = world["auth"]
    for url in (
        "/api/v1/cases",
        "/api/v1/health-checks",
        f"/api/v1/cases/{world['case'].pk}/void",
        f"/api/v1/cases/{some_id}/void",
    ):
        for b in (body, {**body, "resident": world["q"].resident_id}, {**body, "quarantine": world["q"].pk}):
            r = client.post(url, b, content_type="application/json", **auth)
            assert r.status_code < 500, (url, b, r.content[:300])
            assert r["Content-Type"].startswith("application/json")


@SETTINGS
@given(
    params=st.dictionaries(
        st.sampled_from(["neighbourhood_id", "compound_id", "status", "building_id", "limit", "offset"]),
        st.one_of(st.text(max_size=30), st.integers(min_value=-(2**70), max_value=2**70).map(str)),
        max_size=4,
    )
)
def test_api_queries_never_500(client, world, params):
    for url in ("/api/v1/zones", "/api/v1/quarantines"):
        r = client.get(url, params, **world["auth"])
        assert r.status_code in (200, 422), (url, params, r.content[:300])


@SETTINGS
@given(
    data=st.dictionaries(
        st.sampled_from(
            [
                "resident",
                "detected_on",
                "source",
                "type",
                "notes",
                "reason",
                "kind",
                "start_on",
                "place",
                "door_sensor",
                "origin",
                "origin_risk",
                "arrival_on",
                "transport",
                "level",
                "expires_at",
                "days",
                "followup_kind",
                "followup_days",
                "test_days",
                "unit",
                "sealed_days",
                "controlled_days",
                "preset",
                "form",
                "quarantine",
                "slot",
                "temperature",
                "symptoms",
                "t-to_status",
                "t-on",
                "c-kind",
                "c-resident",
                "c-name",
                "c-phone",
                "c-start_on",
                "v-reason",
                "test-on",
                "test-result",
                "rel-early",
                "rel-reason",
                "tr-reason",
                "hc-slot",
                "hc-temperature",
                "hc-symptoms",
            ]
        ),
        form_values,
        max_size=6,
    ),
    query=st.dictionaries(
        st.sampled_from(
            ["neighbourhood", "compound", "status", "kind", "reason", "page", "missing", "due", "resident"]
        ),
        form_values,
        max_size=3,
    ),
)
def test_pages_and_forms_never_500(client, head, world, neighbourhood, building, data, query):
    client.force_login(head)
    q = world["q"]
    gets = ["control:index", "control:map", "control:summary", "control:zones", "control:cases", "control:quarantines"]
    for name in [*gets, "control:checks", "control:returnees", "control:policy"]:
        r = client.get(reverse(name), query)
        assert r.status_code in (200, 400, 404), (name, query, r.status_code)
    posts = [
        reverse("control:case_create"),
        reverse("control:quarantine_create"),
        reverse("control:returnee_create"),
        reverse("control:case", args=[world["case"].pk]),
        reverse("control:quarantine", args=[q.pk]),
        reverse("control:check_record"),
        reverse("control:zone", args=["building", building.pk]),
        reverse("control:policy") + f"?neighbourhood={neighbourhood.pk}",
        reverse("control:policy_edit", args=[neighbourhood.pk, "other"]),
        reverse("control_household:health", args=[world["token"]]),
    ]
    for url in posts:
        r = client.post(url, data)
        assert r.status_code in (200, 302, 400, 404), (url, data, r.status_code)


@pytest.mark.parametrize("value", [str(2**63), str(2**70), "-1", "0", "1e3", "\x00"])
def test_huge_and_odd_ids_are_ignored_or_rejected(client, world, head, value):
    """``?compound=2**64`` used to reach SQLite as an integer it cannot hold: a 500."""
    client.force_login(head)
    for name in ("control:map", "control:summary", "control:zones"):
        for key in ("compound", "neighbourhood"):
            assert client.get(reverse(name), {key: value}).status_code in (200, 400, 404), (name, key)
    for url, key in (
        ("/api/v1/zones", "compound_id"),
        ("/api/v1/zones", "neighbourhood_id"),
        ("/api/v1/quarantines", "building_id"),
    ):
        r = client.get(url, {key: value}, **world["auth"])
        assert r.status_code in (200, 422), (url, key, r.content[:200])
    for url in ("/api/v1/zones", "/api/v1/quarantines"):
        for key in ("offset", "limit"):
            r = client.get(url, {key: value}, **world["auth"])
            assert r.status_code in (200, 422), (url, key, r.content[:200])
    r = client.post(f"/api/v1/cases/{value}/void", {"reason": "x"}, content_type="application/json", **world["auth"])
    assert r.status_code in (404, 422)
    body = {"quarantine": value, "date": TODAY.isoformat(), "slot": "morning", "temperature": "36.5"}
    r = client.post("/api/v1/health-checks", body, content_type="application/json", **world["auth"])
    assert r.status_code == 422
    r = client.post(reverse("control:check_record"), {"quarantine": value, "slot": "morning", "temperature": "36.5"})
    assert r.status_code in (400, 404)  # a NUL is refused before the view (400)
