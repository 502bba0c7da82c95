from __future__ import annotations

import json
import threading

import pytest
from django.db import connection, connections
from django.test import Client

from jiayuan.accounts.services import api_token_create
from jiayuan.core.models import AuditEvent, IdempotencyRecord
from jiayuan.screening.models import Sample, Tube

from .conftest import code


@pytest.mark.django_db
def test_text_plain_nul(round_, sampler, residents):
    _t, key = api_token_create(actor=None, user=sampler)
    c = Client(raise_request_exception=False)
    url = f"/api/v1/rounds/{round_.pk}/samples"
    body = json.dumps({"tube": "T1", "person": {"name": "a\u0000b"}})
    r = c.post(url, body, content_type="text/plain", HTTP_AUTHORIZATION=f"Bearer {key}")
    print("person text/plain", r.status_code, r.content[:150])
    body = json.dumps({"tube": "T1", "resident_code": code(residents["b1"][0]), "idempotency_key": "k\u0000"})
    r = c.post(url, body, content_type="text/plain", HTTP_AUTHORIZATION=f"Bearer {key}")
    print("idem text/plain", r.status_code, r.content[:150])
    r = c.post(url, body, content_type="application/json; charset=utf-8", HTTP_AUTHORIZATION=f"Bearer {key}")
    print("idem json;charset", r.status_code, r.content[:150])


@pytest.mark.django_db
def test_leader_reason_nul(client, make_user, neighbourhood, household):
    from jiayuan.core.permissions import Role
    from jiayuan.supplies.models import GroupBuyLeader
    head = make_user(Role.COMMITTEE_HEAD, neighbourhood, username="h")
    leader = GroupBuyLeader.objects.create(neighbourhood=neighbourhood, household=household, name="L")
    client.force_login(head)
    c = Client(raise_request_exception=False)
    c.force_login(head)
    r = c.post(f"/supplies/leaders/{leader.pk}/review/", {"decision": "reject", "reason": "x\x00y"})
    print("leader reject NUL", r.status_code)


@pytest.mark.django_db(transaction=True)
def test_concurrent_fast_path(round_, sampler, residents, make_resident, household):
    if connection.vendor != "postgresql":
        pytest.skip()
    people = residents["b1"] + residents["b2"] + [make_resident(household, name=f"丙{i}") for i in range(12)]
    _t, key = api_token_create(actor=None, user=sampler)
    url = f"/api/v1/rounds/{round_.pk}/samples"
    results = []
    barrier = threading.Barrier(len(people))

    def go(i, r):
        try:
            c = Client(raise_request_exception=False)
            barrier.wait()
            resp = c.post(url, {"tube": "TX", "resident_code": code(r), "idempotency_key": f"k{i}"},
                          content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
            results.append((resp.status_code, resp.json().get("code")))
        finally:
            connections.close_all()

    ts = [threading.Thread(target=go, args=(i, r)) for i, r in enumerate(people)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    print(sorted(results, key=str))
    tubes = list(Tube.objects.values_list("barcode", "fill_count", "pool_size", "status"))
    print(tubes, Sample.objects.count(), AuditEvent.objects.filter(action="screening.sample").count(),
          AuditEvent.objects.filter(action="screening.tube_open").count(), IdempotencyRecord.objects.count())
    assert all(s in (201, 409) for s, _ in results)
