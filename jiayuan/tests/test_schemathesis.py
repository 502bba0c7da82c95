"""The API does what its OpenAPI document says: a bounded schemathesis run over every operation.

For three roles (the committee head, a building leader, a street officer) and every operation in
``/api/v1/openapi.json``, the test sends the requests a client would really send (each must succeed
for the head) and then requests schemathesis generates from the document — valid ones and invalid
ones, with the ids of real objects and with random ids. Every answer must be declared by the
document (status code and content type) and match its schema, and none may be a server error.
The run is derandomized (the same cases each time) and small per operation: about 750 requests per
role, well under a minute per database. It runs in the normal suite, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from jiayuan.accounts.services import api_token_create
from jiayuan.api import api
from jiayuan.control import services as control
from jiayuan.core.permissions import Role
from jiayuan.screening import services as screening
from jiayuan.screening.codes import sampling_code
from jiayuan.supplies import services as supplies

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 6}


@pytest.fixture
def world(neighbourhood, street, building, building2, household, household2, make_resident, make_user, head, open_buy):
    """A small neighbourhood with something behind every endpoint: residents, a round with a
    closed tube, a case, a quarantine, an open group buy, an appointment window."""
    today = timezone.localdate()
    people = [make_resident(household, name=n) for n in ("甲一", "甲二", "甲三", "甲四", "甲五")]
    people += [make_resident(household2, name=n) for n in ("乙一", "乙二", "乙三")]
    round_ = screening.round_create(actor=head, neighbourhood=neighbourhood, date=today, pool_size=5)
    screening.station_create(actor=head, round_=round_, name="南门采样点")
    for person in people[:5]:  # fills and closes the tube
        screening.sample_scan_one(actor=head, round_=round_, tube="T0001", resident_code=sampling_code(person.pk))
    case = control.case_record(actor=head, resident=people[5], detected_on=today, source="pcr_round")
    quarantine = control.quarantine_start(actor=head, reason="close_contact", resident=people[6])
    campaign = supplies.campaign_create(
        actor=head, neighbourhood=neighbourhood, title="退烧药预约", item_name="布洛芬", quota_per_household=1
    )
    now = timezone.now()
    window = supplies.window_create(
        actor=head,
        campaign=campaign,
        place="居委会",
        starts_at=now + dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=3),
        capacity=20,
    )
    ids = {
        "resident_id": people[0].pk,
        "round_id": round_.pk,
        "case_id": case.pk,
        "group_buy_id": open_buy.pk,
    }
    day = today.isoformat()
    # Requests a client would really send, each expected to succeed for the committee head: so
    # the success answers are checked against their schemas too, not only the errors.
    valid = {
        "GET /api/v1/buildings": [{"query": {"compound_id": building.compound_id}}],
        "GET /api/v1/residents": [{"query": {"building_id": building.pk, "search": "甲"}}],
        "POST /api/v1/rounds": [
            {
                "body": {
                    "date": day,
                    "start_time": "07:30",
                    "end_time": "10:00",
                    "building_ids": [building.pk],
                    "stations": [{"name": "东门", "kind": "door"}],
                    "idempotency_key": "round-1",
                }
            }
        ],
        "POST /api/v1/rounds/{round_id}/samples": [
            {"body": {"tube": "T0002", "resident_code": sampling_code(people[7].pk), "idempotency_key": "s-1"}},
            {"body": {"tube": "T0002", "person": {"name": "快递员", "kind": "worker"}}},
        ],
        "POST /api/v1/rounds/{round_id}/samples/batch": [
            {"body": {"items": [{"tube": "T0003", "resident_code": sampling_code(people[5].pk)}]}}
        ],
        "POST /api/v1/rounds/{round_id}/tube-results": [
            {"body": {"items": [{"tube": "T0001", "result": "positive"}, {"tube": "NOPE", "result": "negative"}]}}
        ],
        "GET /api/v1/rounds/{round_id}/missed": [{"query": {"building_id": building2.pk}}],
        "POST /api/v1/antigen-reports": [{"body": {"resident": people[1].pk, "date": day, "result": "negative"}}],
        "GET /api/v1/zones": [{"query": {"neighbourhood_id": neighbourhood.pk}}],
        "POST /api/v1/cases": [{"body": {"resident": people[7].pk, "detected_on": day, "source": "pcr_round"}}],
        "POST /api/v1/cases/{case_id}/void": [{"body": {"reason": "登记错人"}}],
        "GET /api/v1/quarantines": [{"query": {"building_id": building2.pk, "status": "active"}}],
        "POST /api/v1/health-checks": [
            {"body": {"quarantine": quarantine.pk, "date": day, "slot": "morning", "temperature": "36.5"}}
        ],
        "GET /api/v1/group-buys": [{"query": {"status": "open"}}],
        "POST /api/v1/group-buys/{group_buy_id}/orders": [
            {"body": {"household": household.pk, "items": [{"item": open_buy.items.first().pk, "quantity": 1}]}}
        ],
        "POST /api/v1/appointments": [
            {"body": {"window": window.pk, "household": household.pk, "quantity": 1, "mode": "proxy"}}
        ],
    }
    return {"ids": ids, "valid": valid}


def _users(role, make_user, head, neighbourhood, building, street):
    if role == "committee_head":
        return head
    if role == "building_leader":
        return make_user(Role.BUILDING_LEADER, building, username="leader-b1")
    return make_user(Role.STREET_OFFICER, street, username="street-officer")


def _run(operation, strategy, *, headers, app, examples, failures, statuses):
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        _check(operation, case, headers=headers, app=app, failures=failures, statuses=statuses)

    run()


def _check(operation, case, *, headers, app, failures, statuses):
    """Send ``case``; record each failed check once per (operation, status, kind)."""
    response = case.call(app=app, headers=headers)
    statuses[response.status_code] += 1
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except FailureGroup as exc:
        for failure in exc.exceptions:
            key = (operation.label, response.status_code, failure.title)
            failures.setdefault(key, f"{failure}\n{response.text[:300]}\n{case.as_curl_command()[:400]}")
    return response


@pytest.mark.parametrize("role", ["committee_head", "building_leader", "street_officer"])
def test_api_matches_its_openapi_document(role, world, make_user, head, neighbourhood, building, street):
    user = _users(role, make_user, head, neighbourhood, building, street)
    _token, key = api_token_create(actor=None, user=user)
    headers = {"Authorization": f"Bearer {key}"}
    schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
    app = WSGIHandler()
    failures: dict[tuple, str] = {}
    statuses: Counter[int] = Counter()
    started = time.monotonic()
    # The WSGI handler would close the test's connection (and its transaction) around each request;
    # Django's test client disconnects these too.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            real = {k: v for k, v in world["ids"].items() if k in {p.name for p in operation.path_parameters}}
            for request in world["valid"].get(operation.label, []):
                case = operation.Case(path_parameters=real or None, **request)
                response = _check(operation, case, headers=headers, app=app, failures=failures, statuses=statuses)
                if role == "committee_head" and response.status_code >= 300:
                    failures[(operation.label, response.status_code, "valid request refused")] = response.text[:300]
            for mode, examples in EXAMPLES.items():
                variants = [None, real] if real else [None]
                for path_parameters in variants:
                    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)
                    _run(
                        operation,
                        strategy,
                        headers=headers,
                        app=app,
                        examples=examples,
                        failures=failures,
                        statuses=statuses,
                    )
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    elapsed = time.monotonic() - started
    print(f"{role}: {sum(statuses.values())} requests in {elapsed:.1f}s, statuses {dict(sorted(statuses.items()))}")
    report = "\n\n".join(f"{op} → {status}: {title}\n{example}" for (op, status, title), example in failures.items())
    assert not failures, f"{len(failures)} kinds of failure:\n\n{report}"
    assert statuses[500] == 0
