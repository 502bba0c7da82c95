"""The gates API: gate list and scope, gate state, passages (201 even when refused, masked
visitors, filters, retried once), passes, parcels and their 409 codes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from jiayuan.core.permissions import Role
from jiayuan.gates import services
from jiayuan.gates.models import GatePassage, Parcel
from jiayuan.gates.tests.conftest import bearer, zone
from jiayuan.places import services as places

pytestmark = pytest.mark.django_db


def post(client, path, body, user):
    return client.post(path, body, content_type="application/json", **bearer(user))


@pytest.fixture
def other_gate(neighbourhood):
    c = places.compound_create(actor=None, neighbourhood=neighbourhood, name="红御苑")
    return services.gate_create(actor=None, compound=c, name="北门")


def test_guard_sees_only_their_compounds_gates(client, gate, other_gate, guard, head):
    r = client.get("/api/v1/gates", **bearer(guard))
    assert r.status_code == 200
    assert r.json()["count"] == 1
    (row,) = r.json()["items"]
    assert (row["id"], row["name"], row["compound_id"], row["state"]) == (gate.pk, "南门", gate.compound_id, "open")
    assert client.get("/api/v1/gates", **bearer(head)).json()["count"] == 2
    # A passage at a gate outside the guard's compound: 404, nothing stored.
    r = post(
        client, "/api/v1/gate-passages", {"gate": other_gate.pk, "direction": "in", "vehicle": {"plate": "沪A1"}}, guard
    )
    assert r.status_code == 404
    assert not GatePassage.objects.exists()


def test_gate_state_needs_manage_gates(client, gate, guard, make_user, compound):
    r = post(client, f"/api/v1/gates/{gate.pk}/state", {"state": "closed", "note": "合并"}, guard)
    assert r.status_code == 404
    staff = make_user(Role.PROPERTY_STAFF, compound)
    r = post(client, f"/api/v1/gates/{gate.pk}/state", {"state": "closed", "note": "合并"}, staff)
    assert r.status_code == 200 and r.json()["state"] == "closed"
    assert post(client, f"/api/v1/gates/{gate.pk}/state", {"state": "ajar"}, staff).status_code == 422


def test_refused_passage_is_a_201_with_reason(client, gate, guard, resident, code, building):
    zone(building, "sealed")
    r = post(
        client, "/api/v1/gate-passages", {"gate": gate.pk, "direction": "out", "resident_code": code(resident)}, guard
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["allowed"] is False and body["reason"] == "sealed" and "封控区" in body["message"]
    assert GatePassage.objects.get(pk=body["id"]).allowed is False


def test_allowed_passage_and_unknown_code(client, gate, guard, resident, code):
    r = post(
        client,
        "/api/v1/gate-passages",
        {"gate": gate.pk, "direction": "out", "resident_code": code(resident), "temperature": 36.5},
        guard,
    )
    assert r.status_code == 201 and r.json()["allowed"] is True and r.json()["reason"] is None
    r = post(
        client, "/api/v1/gate-passages", {"gate": gate.pk, "direction": "out", "resident_code": "R1-XXXXXXXX"}, guard
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "resident_code"
    r = post(
        client,
        "/api/v1/gate-passages",
        {"gate": gate.pk, "direction": "sideways", "resident_code": code(resident)},
        guard,
    )
    assert r.status_code == 422


def test_passage_answers_are_the_declared_schema_exactly(client, gate, guard, resident, code, building):
    """The scan's answer is written as it is (``core.api.answered``), not through ninja's response
    validation: it must still be exactly what the OpenAPI document declares, refused or not."""
    from jiayuan.gates.api import PassageAnswer

    allowed = post(
        client, "/api/v1/gate-passages", {"gate": gate.pk, "direction": "in", "resident_code": code(resident)}, guard
    )
    zone(building, "sealed")
    refused = post(
        client, "/api/v1/gate-passages", {"gate": gate.pk, "direction": "out", "resident_code": code(resident)}, guard
    )
    for r in (allowed, refused):
        assert r.status_code == 201 and r["Content-Type"] == "application/json; charset=utf-8"
        assert PassageAnswer.model_validate_json(r.content).model_dump(mode="json") == r.json()
    assert refused.json()["reason"] == "sealed" and isinstance(refused.json()["message"], str)


def test_retried_passage_stored_once(client, gate, guard, resident, code):
    body = {"gate": gate.pk, "direction": "in", "resident_code": code(resident), "idempotency_key": "k-1"}
    first = post(client, "/api/v1/gate-passages", body, guard)
    second = post(client, "/api/v1/gate-passages", body, guard)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert GatePassage.objects.count() == 1


def test_passage_list_filters_and_masks_visitors(client, gate, guard, household, resident, code):
    post(
        client,
        "/api/v1/gate-passages",
        {
            "gate": gate.pk,
            "direction": "in",
            "visitor": {"name": "赵医生", "phone": "13912345678", "purpose": "送药", "host_household": household.pk},
        },
        guard,
    )
    post(
        client,
        "/api/v1/gate-passages",
        {"gate": gate.pk, "direction": "in", "resident_code": code(resident), "temperature": 38.0},
        guard,
    )
    r = client.get(f"/api/v1/gate-passages?gate={gate.pk}&date={timezone.localdate()}", **bearer(guard))
    assert r.json()["count"] == 2
    rows = {row["subject"]: row for row in r.json()["items"]}
    assert rows["visitor"]["who"] == "赵** 139****5678"
    assert "13912345678" not in r.content.decode()
    refused = client.get("/api/v1/gate-passages?allowed=false", **bearer(guard)).json()
    assert refused["count"] == 1 and refused["items"][0]["reason"] == "fever"
    assert client.get("/api/v1/gate-passages?date=2019-01-01", **bearer(guard)).status_code == 422


def test_pass_issue(client, household, head, guard):
    today = timezone.localdate()
    body = {
        "household": household.pk,
        "kind": "shopping",
        "valid_from": str(today),
        "valid_to": str(today + dt.timedelta(days=6)),
        "quota": 1,
        "period_days": 2,
    }
    r = post(client, "/api/v1/passes", body, head)
    assert r.status_code == 201 and r.json()["code"].startswith("P-")
    assert post(client, "/api/v1/passes", body, guard).status_code == 404  # guards do not issue passes
    bad = dict(body, valid_to=str(today - dt.timedelta(days=1)))
    assert post(client, "/api/v1/passes", bad, head).status_code == 422


def test_parcel_lifecycle(client, household, guard):
    r = post(client, "/api/v1/parcels", {"household": household.pk, "carrier": "顺丰", "note": "药品"}, guard)
    assert r.status_code == 201
    pid, pickup = r.json()["id"], r.json()["pickup_code"]
    r = post(client, f"/api/v1/parcels/{pid}/pickup", {"code": pickup}, guard)
    assert r.status_code == 409 and r.json()["code"] == "not_disinfected"
    assert post(client, f"/api/v1/parcels/{pid}/disinfect", {}, guard).json()["status"] == "disinfected"
    assert post(client, f"/api/v1/parcels/{pid}/disinfect", {}, guard).json()["code"] == "already_disinfected"
    assert (
        post(
            client, f"/api/v1/parcels/{pid}/pickup", {"code": "000000" if pickup != "000000" else "111111"}, guard
        ).status_code
        == 422
    )
    r = post(client, f"/api/v1/parcels/{pid}/pickup", {"code": pickup}, guard)
    assert r.status_code == 200 and r.json()["status"] == "picked_up"
    assert post(client, f"/api/v1/parcels/{pid}/deliver", {}, guard).json()["code"] == "already_done"


def test_sealed_household_parcels_go_to_the_door(client, household, guard, building):
    zone(building, "sealed")
    pid = post(client, "/api/v1/parcels", {"household": household.pk}, guard).json()["id"]
    post(client, f"/api/v1/parcels/{pid}/disinfect", {}, guard)
    pickup = Parcel.objects.get(pk=pid).pickup_code
    r = post(client, f"/api/v1/parcels/{pid}/pickup", {"code": pickup}, guard)
    assert r.status_code == 409 and r.json()["code"] == "door_only"
    assert post(client, f"/api/v1/parcels/{pid}/deliver", {}, guard).json()["status"] == "delivered"


def test_parcels_outside_scope_are_404(client, household, make_user, other_neighbourhood, guard):
    outsider = make_user(Role.GATE_GUARD, other_neighbourhood)
    assert post(client, "/api/v1/parcels", {"household": household.pk}, outsider).status_code == 404
    pid = post(client, "/api/v1/parcels", {"household": household.pk}, guard).json()["id"]
    assert post(client, f"/api/v1/parcels/{pid}/disinfect", {}, outsider).status_code == 404


def test_each_passage_has_its_audit_event_as_audit_record_writes_it(client, gate, guard, resident, code, household):
    from jiayuan.core.models import AuditEvent

    post(client, "/api/v1/gate-passages", {"gate": gate.pk, "direction": "in", "resident_code": code(resident)}, guard)
    visitor = {"name": "赵医生", "phone": "13912345678", "purpose": "送药", "host_household": household.pk}
    post(client, "/api/v1/gate-passages", {"gate": gate.pk, "direction": "in", "visitor": visitor}, guard)
    passages = list(GatePassage.objects.order_by("id"))
    events = list(AuditEvent.objects.filter(action="gates.passage").order_by("id"))
    assert [e.object_id for e in events] == [str(p.pk) for p in passages]
    assert {e.actor_id for e in events} == {guard.pk} and {e.actor_label for e in events} == {"guard"}
    assert events[0].object_type == "gates.gatepassage" and events[0].neighbourhood_id == gate.neighbourhood_id
    assert events[0].changes == {"gate": gate.pk, "direction": "in", "allowed": True, "reason": ""}
    assert events[1].object_repr == f"#{passages[1].pk} 赵** 139****5678"
    assert passages[1].visitor_phone == "13912345678"  # encrypted at rest, read back through the field
