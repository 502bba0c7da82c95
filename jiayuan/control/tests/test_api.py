"""API v1 of the control app: zones, cases, quarantines, health checks."""

from __future__ import annotations

import datetime as dt

import pytest

from jiayuan.accounts.services import api_token_create
from jiayuan.control import services
from jiayuan.control.choices import CaseSource, QuarantineReason
from jiayuan.control.models import HealthCheck
from jiayuan.control.tests.conftest import TODAY
from jiayuan.core.permissions import Role


def _auth(user):
    _t, key = api_token_create(actor=None, user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.fixture
def auth(head):
    return _auth(head)


def test_zones_lists_buildings_and_compounds_with_levels(client, frozen, auth, compound, building, building2, resident):
    services.case_record(
        actor=None, resident=resident, detected_on=TODAY - dt.timedelta(days=2), source=CaseSource.PCR_ROUND
    )
    body = client.get("/api/v1/zones", **auth).json()
    items = {(i["type"], i["id"]): i for i in body["items"]}
    assert items[("building", building.pk)]["level"] == "sealed"
    assert items[("building", building.pk)]["since"] == (TODAY - dt.timedelta(days=2)).isoformat()
    assert items[("building", building.pk)]["next_change_on"] == (TODAY + dt.timedelta(days=5)).isoformat()
    assert items[("building", building2.pk)]["level"] == "precaution"
    assert items[("compound", compound.pk)]["level"] == "sealed"


def test_zones_are_scoped(client, frozen, make_user, other_neighbourhood, building):
    auth = _auth(make_user(Role.STREET_OFFICER, other_neighbourhood.street))
    assert client.get("/api/v1/zones", **auth).json()["count"] >= 2  # the street sees its neighbourhoods
    auth = _auth(make_user(Role.COMMITTEE_HEAD, other_neighbourhood))
    assert client.get("/api/v1/zones", **auth).json()["count"] == 0


def test_post_case_201_then_idempotent(client, frozen, auth, resident):
    payload = {"resident": resident.pk, "detected_on": TODAY.isoformat(), "source": "pcr_round", "type": "confirmed"}
    r1 = client.post("/api/v1/cases", payload, content_type="application/json", **auth)
    assert r1.status_code == 201
    r2 = client.post("/api/v1/cases", payload, content_type="application/json", **auth)
    assert r2.status_code == 201 and r2.json()["id"] == r1.json()["id"]
    assert r1.json()["status"] == "at_home"


def test_post_case_422_with_field_messages(client, frozen, auth, resident):
    bad = client.post(
        "/api/v1/cases",
        {"resident": resident.pk, "detected_on": "2022-13-01", "source": "rumour"},
        content_type="application/json",
        **auth,
    )
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert {"detected_on", "source"} <= fields
    future = client.post(
        "/api/v1/cases",
        {"resident": resident.pk, "detected_on": (TODAY + dt.timedelta(days=3)).isoformat(), "source": "antigen"},
        content_type="application/json",
        **auth,
    )
    assert future.status_code == 422
    assert future.json()["errors"] == [{"field": "detected_on", "message": "检出日期不能晚于今天"}]


def test_post_case_outside_scope_is_404_and_without_right_403(
    client, frozen, make_user, other_neighbourhood, neighbourhood, resident
):
    payload = {"resident": resident.pk, "detected_on": TODAY.isoformat(), "source": "pcr_round"}
    auth = _auth(make_user(Role.COMMITTEE_HEAD, other_neighbourhood))
    assert client.post("/api/v1/cases", payload, content_type="application/json", **auth).status_code == 404
    auth = _auth(make_user(Role.VOLUNTEER, neighbourhood))
    assert client.post("/api/v1/cases", payload, content_type="application/json", **auth).status_code == 403


def test_quarantines_filter_paginate_and_scope(client, frozen, auth, make_user, neighbourhood, resident, resident2):
    q = services.quarantine_start(actor=None, reason=QuarantineReason.RETURNEE_RISK_AREA, resident=resident)
    services.quarantine_start(actor=None, reason=QuarantineReason.ARRIVAL_ABROAD, resident=resident2)
    services.quarantine_release(actor=None, quarantine=q, early=True, reason="误登记")
    body = client.get("/api/v1/quarantines?status=active", **auth).json()
    assert body["count"] == 1 and body["items"][0]["name"] == "李密"
    assert body["items"][0]["current_kind"] == "centralised"
    assert client.get("/api/v1/quarantines?limit=1", **auth).json()["count"] == 2
    assert client.get("/api/v1/quarantines?status=bogus", **auth).status_code == 422
    volunteer = _auth(make_user(Role.VOLUNTEER, neighbourhood))
    assert client.get("/api/v1/quarantines", **volunteer).json()["count"] == 0


def test_health_check_post_with_idempotency_key(client, frozen, auth, resident):
    services.quarantine_start(actor=None, reason=QuarantineReason.RETURNEE_RISK_AREA, resident=resident)
    payload = {
        "resident": resident.pk,
        "date": TODAY.isoformat(),
        "slot": "morning",
        "temperature": "37.4",
        "symptoms": [],
        "idempotency_key": "k-1",
    }
    r1 = client.post("/api/v1/health-checks", payload, content_type="application/json", **auth)
    assert r1.status_code == 201 and r1.json()["alert"] is True
    r2 = client.post(
        "/api/v1/health-checks", {**payload, "temperature": "36.5"}, content_type="application/json", **auth
    )
    assert r2.status_code == 201 and r2.json() == r1.json()  # replayed, not re-run
    assert str(HealthCheck.objects.get().temperature) == "37.4"
    r3 = client.post(
        "/api/v1/health-checks",
        {**payload, "temperature": "36.5", "idempotency_key": ""},
        content_type="application/json",
        **auth,
    )
    assert r3.status_code == 200 and r3.json()["alert"] is False


def test_health_check_post_validation(client, frozen, auth, resident):
    bad = client.post(
        "/api/v1/health-checks",
        {"resident": resident.pk, "date": TODAY.isoformat(), "slot": "noon", "temperature": "50"},
        content_type="application/json",
        **auth,
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} >= {"slot", "temperature"}
    none = client.post(
        "/api/v1/health-checks",
        {"date": TODAY.isoformat(), "slot": "morning", "temperature": "36.5"},
        content_type="application/json",
        **auth,
    )
    assert none.status_code == 422


@pytest.mark.parametrize("value", [0, 20260410, "0", "1900-01-01", "2026-04-10T00:00:00", "2026-02-30", None])
def test_case_dates_are_real_iso_dates_in_a_plausible_range(client, frozen, auth, resident, value):
    """``detected_on: 0`` was read as 1970-01-01; a number, an old year or a datetime is bad input."""
    payload = {"resident": resident.pk, "detected_on": value, "source": "pcr_round"}
    r = client.post("/api/v1/cases", payload, content_type="application/json", **auth)
    assert r.status_code == 422, r.content
    assert [e["field"] for e in r.json()["errors"]] == ["detected_on"]
    assert r.json()["code"] == "invalid"


def test_building_is_a_label_and_building_id_an_id(client, frozen, auth, resident, resident2):
    """Field names agree across endpoints: ``building_id`` holds an id, ``building`` a label."""
    case = client.post(
        "/api/v1/cases",
        {"resident": resident.pk, "detected_on": TODAY.isoformat(), "source": "pcr_round"},
        content_type="application/json",
        **auth,
    ).json()
    assert case["building_id"] == resident.household.building_id and "building" not in case
    building = resident2.household.building
    services.quarantine_start(actor=None, reason=QuarantineReason.CLOSE_CONTACT, resident=resident2)
    item = client.get(f"/api/v1/quarantines?building_id={building.pk}", **auth).json()["items"][0]
    assert item["building_id"] == building.pk and item["building"] == building.name
    row = client.get(f"/api/v1/residents?building_id={building.pk}", **auth).json()["items"][0]
    assert row["building_id"] == building.pk and row["building"] == building.name


def test_a_bad_choice_lists_the_allowed_values(client, frozen, auth, resident):
    r = client.post(
        "/api/v1/cases",
        {"resident": resident.pk, "detected_on": TODAY.isoformat(), "source": "rumour"},
        content_type="application/json",
        **auth,
    )
    message = {e["field"]: e["message"] for e in r.json()["errors"]}["source"]
    assert all(choice in message for choice in CaseSource.values), message
    r = client.get("/api/v1/quarantines?status=lost", **auth)
    assert r.status_code == 422 and "active" in r.json()["errors"][0]["message"]


def test_a_body_that_is_not_json_is_422(client, auth):
    r = client.post("/api/v1/cases", "{not json", content_type="application/json", **auth)
    assert r.status_code == 422
    assert r.json() == {
        "detail": "输入有误",
        "code": "invalid",
        "errors": [{"field": "body", "message": "不是有效的 JSON"}],
    }
