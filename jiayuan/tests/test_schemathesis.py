"""The API does what its OpenAPI document says: a bounded schemathesis run over every operation.

For three roles (the committee head, a building leader, a street officer) and every operation in
``/api/v1/openapi.json``, schemathesis generates requests from the document — valid ones and
invalid ones, with the ids of real objects and with random ids — and sends them to the app. Every
answer must be declared by the document (status code and content type) and match its schema, and
none may be a server error. The run is derandomized (same cases each time) and small per operation,
so it stays well under a minute per database; it runs in the normal suite, on SQLite and PostgreSQL.
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
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 8}


@pytest.fixture
def world(neighbourhood, street, building, building2, household, household2, make_resident, make_user, head, open_buy):
    """A small neighbourhood with something behind every endpoint: residents, a round with
    samples and a result, a case, a quarantine, an open group buy, an appointment window."""
    today = timezone.localdate()
    people = [make_resident(household, name=n) for n in ("甲一", "甲二", "甲三")]
    people += [make_resident(household2, name=n) for n in ("乙一", "乙二")]
    round_ = screening.round_create(actor=head, neighbourhood=neighbourhood, date=today, pool_size=5)
    screening.station_create(actor=head, round_=round_, name="南门采样点")
    for i, person in enumerate(people[:3]):
        screening.sample_scan_one(actor=head, round_=round_, tube="T0001", resident_code=sampling_code(person.pk))
        assert i < 3
    screening.tube_result_one(actor=head, round_=round_, barcode="T0001", result="negative")
    case = control.case_record(actor=head, resident=people[3], detected_on=today, source="pcr_round")
    quarantine = control.quarantine_start(actor=head, reason="close_contact", resident=people[4])
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
    return {
        "resident_id": people[0].pk,
        "round_id": round_.pk,
        "case_id": case.pk,
        "quarantine_id": quarantine.pk,
        "group_buy_id": open_buy.pk,
        "window_id": window.pk,
        "building_id": building.pk,
        "household_id": household.pk,
    }


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
        response = case.call(app=app, headers=headers)
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as exc:
            for failure in exc.exceptions:
                key = (operation.label, response.status_code, failure.title)
                failures.setdefault(key, f"{failure}\n{response.text[:300]}\n{case.as_curl_command()[:400]}")

    run()


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
            real = {k: v for k, v in world.items() if k in {p.name for p in operation.path_parameters}}
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
