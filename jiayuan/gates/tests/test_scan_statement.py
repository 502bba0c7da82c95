"""The gate's scan read in one statement (ADR 0023): the token, the gate, the resident and — going
out — control's zone statement together; the guard's scope decided on the row as ``restrict``
decides it; a dead token still a 401 (before a 422); a retry stored once
and answered with the first answer, read by one more statement."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jiayuan.accounts.models import ApiToken
from jiayuan.core.permissions import Action, Role
from jiayuan.core.scoping import permits, restrict
from jiayuan.gates import services
from jiayuan.gates.models import Gate, GatePassage
from jiayuan.gates.tests.conftest import home_quarantine, zone
from jiayuan.places import services as places

pytestmark = pytest.mark.django_db

PATH = "/api/v1/gate-passages"


def token(user):
    from jiayuan.accounts.services import api_token_create

    return api_token_create(actor=None, user=user)


def post(client, body, key):
    return client.post(PATH, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.fixture
def far_gate(other_neighbourhood):
    c = places.compound_create(actor=None, neighbourhood=other_neighbourhood, name="红御苑")
    return services.gate_create(actor=None, compound=c, name="西门")


@pytest.fixture
def next_gate(neighbourhood):
    c = places.compound_create(actor=None, neighbourhood=neighbourhood, name="泰和二村")
    return services.gate_create(actor=None, compound=c, name="东门")


def _scope_values(gate: Gate) -> dict:
    return {
        "compound_id": gate.compound_id,
        "neighbourhood_id": gate.neighbourhood_id,
        "neighbourhood__street_id": gate.neighbourhood.street_id,
    }


def test_permits_says_what_restrict_says(
    make_user, street, neighbourhood, compound, building, gate, next_gate, far_gate
):
    users = [
        make_user(Role.GATE_GUARD, compound),
        make_user(Role.PROPERTY_STAFF, compound),
        make_user(Role.COMMITTEE_STAFF, neighbourhood),
        make_user(Role.COMMITTEE_HEAD, street),
        make_user(Role.BUILDING_LEADER, building),  # no PASS_GATE at all
        make_user(Role.COMMITTEE_HEAD, building),  # a grant through a callable path
        make_user(None),
    ]
    undecided = 0
    for user in users:
        for g in (gate, next_gate, far_gate):
            said = permits(user, Action.PASS_GATE, Gate, _scope_values(g))
            kept = restrict(Gate.objects.filter(pk=g.pk), user, Action.PASS_GATE).exists()
            if said is None:
                undecided += 1
            else:
                assert said is kept, (user, g)
    # Only the building-level grant cannot be told from the row's columns.
    assert undecided == 3


def test_street_level_grant_scans_through_the_one_statement(client, make_user, street, gate, far_gate, resident, code):
    head = make_user(Role.COMMITTEE_HEAD, street)
    _t, key = token(head)
    r = post(client, {"gate": gate.pk, "direction": "in", "resident_code": code(resident)}, key)
    assert r.status_code == 201, r.content
    # The other neighbourhood's gate is in the street too (a vehicle: the resident is not its).
    r = post(
        client, {"gate": far_gate.pk, "direction": "in", "vehicle": {"plate": "沪A12345", "purpose": "supplies"}}, key
    )
    assert r.status_code == 201, r.content


def test_building_level_grant_is_asked_of_restrict(client, make_user, building, gate, next_gate, resident, code):
    head = make_user(Role.COMMITTEE_HEAD, building)  # a building-level grant reaches its compound's gates
    _t, key = token(head)
    r = post(client, {"gate": gate.pk, "direction": "in", "resident_code": code(resident)}, key)
    assert r.status_code == 201, r.content
    r = post(client, {"gate": next_gate.pk, "direction": "in", "resident_code": code(resident)}, key)
    assert r.status_code == 404
    assert GatePassage.objects.count() == 1


def test_dead_token_is_401_even_with_a_bad_body(client, guard, gate, resident, code):
    t, key = token(guard)
    good = {"gate": gate.pk, "direction": "in", "resident_code": code(resident)}
    bad = {"gate": gate.pk, "direction": "sideways", "resident_code": code(resident)}
    assert post(client, bad, key).status_code == 422  # a live token: the body's errors
    ApiToken.objects.filter(pk=t.pk).update(revoked_at=timezone.now())
    for body in (good, bad):
        r = post(client, body, key)
        assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    r = post(client, good, "jy_not-a-token")
    assert r.status_code == 401
    r = post(client, good, "not-even-the-shape")
    assert r.status_code == 401
    guard.is_active = False
    guard.save()
    _t, key2 = token(guard)
    assert post(client, good, key2).status_code == 401
    assert not GatePassage.objects.exists()


def test_removed_assignment_takes_effect_at_once(client, guard, gate, resident, code):
    _t, key = token(guard)
    body = {"gate": gate.pk, "direction": "in", "resident_code": code(resident)}
    assert post(client, body, key).status_code == 201
    guard.assignments.update(active=False)
    assert post(client, body, key).status_code == 404


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)  # autocommit, as a server runs: the one-statement write
def test_a_scan_going_out_is_two_statements_on_postgresql(client, guard, gate, resident, household, code, building):
    _t, key = token(guard)
    body = {"gate": gate.pk, "direction": "out", "resident_code": code(resident), "idempotency_key": "warm"}
    assert post(client, body, key).status_code == 201  # the token's use recorded (once a minute)
    cases = [
        ({}, True, None),
        ({"quarantine": True}, False, "quarantine"),
        ({"sealed": True}, False, "sealed"),
    ]
    for n, (setup, allowed, reason) in enumerate(cases):
        if setup.get("quarantine"):
            home_quarantine(household)
        if setup.get("sealed"):
            zone(building, "sealed")
        body = {"gate": gate.pk, "direction": "out", "resident_code": code(resident), "idempotency_key": f"o{n}"}
        with CaptureQueriesContext(connection) as q:
            r = post(client, body, key)
        assert r.status_code == 201, r.content
        assert (r.json()["allowed"], r.json()["reason"]) == (allowed, reason)
        statements = [x["sql"] for x in q.captured_queries]
        # The read (token, gate, resident, control's zone statement) and the write.
        assert len(statements) == 2, statements
        assert "LATERAL" in statements[0] and "key_hash" in statements[0]
        assert statements[1].startswith("WITH p AS (INSERT")
        # A retry: the write inserts nothing, one more statement reads the first answer.
        with CaptureQueriesContext(connection) as q:
            again = post(client, body, key)
        assert again.json() == r.json() and len(q.captured_queries) == 3
    assert GatePassage.objects.filter(idempotency_key__startswith="o").count() == len(cases)
    # Each passage's audit event, written by the same statement, as ``audit_record`` writes it.
    from jiayuan.core.models import AuditEvent

    for passage in GatePassage.objects.filter(idempotency_key__startswith="o"):
        event = AuditEvent.objects.get(action="gates.passage", object_id=str(passage.pk))
        assert (event.created_at, event.neighbourhood_id, event.actor_id) == (
            passage.at,
            gate.neighbourhood_id,
            guard.pk,
        )
        assert event.changes == {
            "gate": gate.pk,
            "direction": "out",
            "allowed": passage.allowed,
            "reason": passage.reason,
        }
        assert event.object_type == "gates.gatepassage" and event.object_repr.startswith(f"#{passage.pk} ")


@pytest.mark.parametrize("minutes_after_midnight, stored", [(3, 1), (25, 2)])
def test_retry_just_after_midnight_is_answered_with_yesterdays_passage(
    monkeypatch, guard, gate, resident, code, minutes_after_midnight, stored
):
    import datetime as dt

    from django.utils import timezone as tz

    tonight = tz.make_aware(dt.datetime.combine(tz.localdate(), dt.time(23, 59, 58)))
    monkeypatch.setattr(tz, "now", lambda: tonight)
    first = services.passage_record(
        actor=guard, gate=gate, direction="in", resident_code=code(resident), idempotency_key="late-1"
    )
    later = tonight + dt.timedelta(seconds=2, minutes=minutes_after_midnight)
    monkeypatch.setattr(tz, "now", lambda: later)
    again = services.passage_record(
        actor=guard, gate=gate, direction="in", resident_code=code(resident), idempotency_key="late-1"
    )
    assert GatePassage.objects.filter(idempotency_key="late-1").count() == stored
    if stored == 1:  # within the window: the first answer, word for word
        assert again.replayed and again.as_dict() == first.as_dict()
    else:  # long after: a new scan of a new day
        assert not again.replayed and again.passage.day == first.passage.day + dt.timedelta(days=1)
