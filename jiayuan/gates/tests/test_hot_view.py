"""The gate scan's hot view (``core.api.hot_urls``, ADR 0023): a scanner's bearer-token POST is
served before ninja's operation, with the operation's answers; everything else at that path is
the operation's own."""

from __future__ import annotations

import json

import pytest
from django.test import Client, RequestFactory
from django.urls import resolve
from ninja.operation import Operation

from jiayuan.core.api import hot_urls
from jiayuan.gates.models import GatePassage
from jiayuan.gates.tests.conftest import bearer

pytestmark = pytest.mark.django_db
PATH = "/api/v1/gate-passages"


@pytest.fixture
def operation_runs(monkeypatch):
    """How many requests ninja's operations served (the hot view serves its own without one)."""
    runs = []
    real = Operation.run

    def run(self, request, **kw):
        runs.append(request.path)
        return real(self, request, **kw)

    monkeypatch.setattr(Operation, "run", run)
    return runs


def test_a_scanners_scan_is_served_by_the_hot_view(client, gate, guard, resident, code, operation_runs):
    auth = bearer(guard)
    body = {"gate": gate.pk, "direction": "in", "resident_code": code(resident), "idempotency_key": "k1"}
    first = client.post(PATH, body, content_type="application/json", **auth)
    again = client.post(PATH, body, content_type="application/json", **auth)
    assert first.status_code == again.status_code == 201
    assert first.json()["allowed"] is True and again.json() == first.json()
    assert operation_runs == []  # no ninja operation ran
    assert GatePassage.objects.filter(gate=gate).count() == 1
    # The list at the same path is the operation's.
    assert client.get(PATH, **auth).status_code == 200
    assert operation_runs == [PATH]


def test_a_session_scan_is_the_operations_with_its_csrf_check(gate, guard, resident, code, operation_runs):
    c = Client(enforce_csrf_checks=True)
    c.force_login(guard)
    body = {"gate": gate.pk, "direction": "in", "resident_code": code(resident)}
    response = c.post(PATH, body, content_type="application/json")
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert operation_runs == [PATH]
    assert not GatePassage.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b"{}",
        b'{"gate": 1}',
        b'{"gate": "x", "direction": "in", "resident_code": "R1-AAAAAAAA"}',
        b'{"gate": 1, "direction": "sideways", "resident_code": "R1-AAAAAAAA"}',
        b'{"gate": 1, "direction": "in", "resident_code": "R1-AAAAAAAA", "temperature": 99}',
        b'{"gate": 1, "direction": "in", "visitor": {"name": "", "phone": 5}}',
        '{"gate": 1, "direction": "in", "vehicle": {"plate": "沪A1", "purpose": "party"}}'.encode(),
        b'{"gate": 0, "direction": "in", "resident_code": "R1-AAAAAAAA", "idempotency_key": "' + b"k" * 201 + b'"}',
    ],
)
@pytest.mark.parametrize("live", [True, False])
def test_a_body_the_hot_view_does_not_accept_gets_the_operations_answer(guard, body, live, operation_runs):
    """The same request to the hot view and to ninja's operation alone: the same status and body
    (a 422 with its fields, or a 401 first when the token is not live)."""
    key = bearer(guard)["HTTP_AUTHORIZATION"] if live else "Bearer jy_not-a-live-key"
    hot = resolve(PATH).func
    operation = hot.__wrapped__

    def ask(view):
        request = RequestFactory().post(PATH, body, content_type="application/json", HTTP_AUTHORIZATION=key)
        response = view(request)
        return response.status_code, json.loads(response.content)

    answer = ask(hot)
    assert answer == ask(operation)
    assert answer[0] == (422 if live else 401)
    assert answer[1]["code"] == ("invalid" if live else "unauthenticated")
    assert not GatePassage.objects.exists()


def test_errors_raised_in_the_hot_view_are_the_apis_answers(client, gate, guard, other_neighbourhood, operation_runs):
    auth = bearer(guard)
    unknown_gate = client.post(
        PATH,
        {"gate": gate.pk + 1000, "direction": "in", "resident_code": "R1-AAAAAAAA"},
        content_type="application/json",
        **auth,
    )
    assert unknown_gate.status_code == 404
    assert unknown_gate.json() == {"detail": "未找到", "code": "not_found", "errors": []}
    body = {"gate": gate.pk, "direction": "in", "resident_code": "R1-AAAAAAAA"}
    bad_code = client.post(PATH, body, content_type="application/json", **auth)
    assert bad_code.status_code == 422
    assert [e["field"] for e in bad_code.json()["errors"]] == ["resident_code"]
    assert operation_runs == []


def test_hot_urls_refuses_a_path_the_api_does_not_have():
    from jiayuan.api import api

    with pytest.raises(ValueError, match="gate-passage"):
        hot_urls(api, {"gate-passage": lambda request: None})
