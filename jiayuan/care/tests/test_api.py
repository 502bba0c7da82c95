"""The requests API: create by link token or staff (201 with priority and due_at), list filters,
detail, assign, status (409 bad_transition), scope (404), idempotency."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from jiayuan.care.models import CareRequest
from jiayuan.core.permissions import Role

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 4, 10, 9, 0, tzinfo=dt.UTC)


def post(client, url, body, headers=None):
    return client.post(url, body, content_type="application/json", **(headers or {}))


def test_a_household_raises_a_request_with_its_link_token(client, household, make_resident, link_token):
    elder = make_resident(household, name="孙爷爷", tags=["elderly_alone"])
    token = link_token(household)
    with time_machine.travel(T0, tick=False):
        r = post(
            client,
            "/api/v1/requests",
            {
                "household_token": token,
                "resident": elder.pk,
                "category": "shortage",
                "urgency": "today",
                "description": "米吃完了",
                "idempotency_key": "k1",
            },
        )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["priority"] == "high" and body["status"] == "new"
    assert body["due_at"].startswith("2026-04-10T11:00")  # today: accepted within 120 minutes
    again = post(
        client,
        "/api/v1/requests",
        {
            "household_token": token,
            "category": "shortage",
            "urgency": "today",
            "description": "米吃完了",
            "idempotency_key": "k1",
        },
    )
    assert again.status_code == 201 and again.json()["id"] == body["id"]
    assert CareRequest.objects.count() == 1
    req = CareRequest.objects.get()
    assert req.source == "link" and req.resident == elder


def test_link_token_errors(client, household, household2, make_resident, link_token):
    other = make_resident(household2, name="外人")
    token = link_token(household)
    r = post(client, "/api/v1/requests", {"household_token": "forged", "category": "other", "description": "x"})
    assert r.status_code == 401
    r = post(
        client,
        "/api/v1/requests",
        {"household_token": token, "resident": other.pk, "category": "other", "description": "x"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "resident"
    r = post(client, "/api/v1/requests", {"household_token": token, "category": "nonsense", "description": "x"})
    assert r.status_code == 422
    r = post(client, "/api/v1/requests", {"household_token": token, "category": "other", "description": ""})
    assert r.status_code == 422


def test_staff_raise_by_resident_or_household_within_scope(
    client, household, household2, make_resident, leader, bearer, head
):
    resident = make_resident(household, name="周阿姨")
    r = post(
        client,
        "/api/v1/requests",
        {"resident": resident.pk, "category": "repair", "description": "水管漏"},
        bearer(leader),
    )
    assert r.status_code == 201
    assert CareRequest.objects.get(pk=r.json()["id"]).household == household
    # The leader's building is 1; household2 is in building 2: not found.
    r = post(
        client,
        "/api/v1/requests",
        {"household": household2.pk, "category": "repair", "description": "x"},
        bearer(leader),
    )
    assert r.status_code == 404
    r = post(
        client, "/api/v1/requests", {"household": household2.pk, "category": "repair", "description": "x"}, bearer(head)
    )
    assert r.status_code == 201
    r = post(client, "/api/v1/requests", {"category": "repair", "description": "x"}, bearer(head))
    assert r.status_code == 422
    assert (
        post(
            client, "/api/v1/requests", {"household": household.pk, "category": "repair", "description": "x"}
        ).status_code
        == 401
    )


def test_list_filters_and_detail(client, household, household2, head, leader, bearer, staff):
    with time_machine.travel(T0, tick=False):
        for h, cat, urg in (
            (household, "medicine", "emergency"),
            (household, "repair", "routine"),
            (household2, "other", "today"),
        ):
            post(
                client,
                "/api/v1/requests",
                {"household": h.pk, "category": cat, "urgency": urg, "description": "说明"},
                bearer(head),
            )
    with time_machine.travel(T0 + dt.timedelta(minutes=45), tick=False):
        r = client.get("/api/v1/requests", **bearer(head))
        assert r.json()["count"] == 3
        assert r.json()["items"][0]["priority"] == "high"
        assert client.get("/api/v1/requests?category=repair", **bearer(head)).json()["count"] == 1
        overdue = client.get("/api/v1/requests?overdue=true", **bearer(head)).json()
        assert [i["category"] for i in overdue["items"]] == ["medicine"]
        assert client.get("/api/v1/requests?overdue=false", **bearer(head)).json()["count"] == 2
        assert client.get("/api/v1/requests?status=new", **bearer(head)).json()["count"] == 3
        assert client.get("/api/v1/requests?status=bogus", **bearer(head)).status_code == 422
        assert client.get("/api/v1/requests", **bearer(leader)).json()["count"] == 2
        paged = client.get("/api/v1/requests?limit=1&offset=1", **bearer(head)).json()
        assert paged["count"] == 3 and len(paged["items"]) == 1
    req = CareRequest.objects.get(category="other")
    assert client.get(f"/api/v1/requests/{req.pk}", **bearer(leader)).status_code == 404
    detail = client.get(f"/api/v1/requests/{req.pk}", **bearer(head)).json()
    assert detail["description"] == "说明" and detail["events"][0]["status"] == "new"


def test_assign_and_status_with_guards(client, household, head, staff, leader, bearer, make_user, building2):
    r = post(
        client,
        "/api/v1/requests",
        {"household": household.pk, "category": "shortage", "description": "缺菜"},
        bearer(head),
    )
    rid = r.json()["id"]
    r = post(client, f"/api/v1/requests/{rid}/assign", {"user": leader.pk}, bearer(head))
    assert r.status_code == 200 and r.json()["assignee"] == leader.pk
    far = make_user(Role.BUILDING_LEADER, building2)
    r = post(client, f"/api/v1/requests/{rid}/assign", {"user": far.pk}, bearer(head))
    assert r.status_code == 422
    r = post(client, f"/api/v1/requests/{rid}/assign", {"user": 999999}, bearer(head))
    assert r.status_code == 422
    r = post(client, f"/api/v1/requests/{rid}/assign", {"team": 999999}, bearer(head))
    assert r.status_code == 422
    r = post(client, f"/api/v1/requests/{rid}/status", {"status": "done"}, bearer(leader))
    assert r.status_code == 409 and r.json()["code"] == "bad_transition"
    for status in ("accepted", "in_progress", "done"):
        r = post(client, f"/api/v1/requests/{rid}/status", {"status": status, "note": "好"}, bearer(leader))
        assert r.status_code == 200 and r.json()["status"] == status
    r = post(client, f"/api/v1/requests/{rid}/status", {"status": "confirmed"}, bearer(head))
    assert r.status_code == 200  # staff confirming for a household that told them by phone
    r = post(client, f"/api/v1/requests/{rid}/assign", {"user": leader.pk}, bearer(head))
    assert r.status_code == 409
    # Requests carry residents' names and needs: the owners' committee does not read them.
    owners = make_user(Role.OWNERS_COMMITTEE, household.neighbourhood)
    assert client.get(f"/api/v1/requests/{rid}", **bearer(owners)).status_code == 404
    assert post(client, f"/api/v1/requests/{rid}/status", {"status": "reopened"}, bearer(owners)).status_code == 404


def test_assign_to_a_team(client, household, head, bearer):
    from jiayuan.volunteers.models import Team

    team = Team.objects.create(neighbourhood_id=household.neighbourhood_id, name="红色跑腿队")
    rid = post(
        client,
        "/api/v1/requests",
        {"household": household.pk, "category": "medicine", "description": "配药"},
        bearer(head),
    ).json()["id"]
    r = post(client, f"/api/v1/requests/{rid}/assign", {"team": team.pk}, bearer(head))
    assert r.status_code == 200 and r.json()["team"] == team.pk
    r = post(client, f"/api/v1/requests/{rid}/assign", {}, bearer(head))
    assert r.status_code == 422
