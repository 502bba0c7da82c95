"""Batched scans (``POST /api/v1/rounds/{id}/samples/batch``): every item answered and recorded as a
single scan would be — the same answer, audit events and idempotency records — whichever path
stores it (the ORM's on SQLite, two set-based statements on PostgreSQL), and two batches racing
into one new tube never overfill it."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from jiayuan.accounts.services import api_token_create
from jiayuan.core.models import AuditEvent, IdempotencyRecord
from jiayuan.core.permissions import Role
from jiayuan.places import services as places_services
from jiayuan.screening import services
from jiayuan.screening.models import Sample, Tube
from jiayuan.screening.services import batches

from .conftest import code

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(client, round_, sampler):
    _t, key = api_token_create(actor=None, user=sampler)
    url = f"/api/v1/rounds/{round_.pk}/samples/batch"

    def do(items):
        resp = client.post(url, {"items": items}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
        assert resp.status_code == 200, resp.content
        return resp.json()

    return do


@pytest.fixture
def people(residents):
    return residents["b1"] + residents["b2"]


def test_each_item_is_answered_audited_and_recorded_like_a_single_scan(batch, people, round_, sampler):
    items = [
        {"tube": "T1" if i < 5 else "T2", "resident_code": code(r), "idempotency_key": f"k-{i}"}
        for i, r in enumerate(people)
    ]
    data = batch(items)
    assert data["accepted"] == 7 and data["rejected"] == 0
    results = [item["result"] for item in data["items"]]
    samples = {s.resident_id: s for s in Sample.objects.select_related("tube")}
    for i, (r, result) in enumerate(zip(people, results, strict=True)):
        sample = samples[r.pk]
        fill = i + 1 if i < 5 else i - 4
        assert result == {
            "sample_id": sample.pk,
            "tube": sample.tube.barcode,
            "fill": fill,
            "pool_size": 5,
            "full": fill == 5,
            "closed": fill == 5,
            "resident": r.pk,
            "name": result["name"],
            "retest": False,
        }
        assert result["name"] != r.name and result["name"][0] == r.name[0]  # masked
        assert sample.building_id == r.household.building_id and sample.sampled_by_id == sampler.pk
        assert sample.day == round_.date
        assert IdempotencyRecord.objects.get(key=f"k-{i}").body == result
    t1, t2 = Tube.objects.get(barcode="T1"), Tube.objects.get(barcode="T2")
    assert (t1.fill_count, t1.status, t1.closed_at is not None) == (5, "closed", True)
    assert (t2.fill_count, t2.status, t2.closed_at) == (2, "open", None)
    assert t1.opened_by_id == sampler.pk
    # The openings first, then one event per sample, in the batch's order.
    events = list(AuditEvent.objects.filter(action__startswith="screening.").exclude(action="screening.round_create"))
    events.sort(key=lambda e: e.pk)
    assert [e.action for e in events] == ["screening.tube_open"] * 2 + ["screening.sample"] * 7
    assert [e.object_id for e in events[:2]] == [str(t1.pk), str(t2.pk)]
    assert events[0].changes == {"round": round_.pk, "pool_size": 5, "retest": False, "batch": True}
    for i, (r, event) in enumerate(zip(people, events[2:], strict=True)):
        sample = samples[r.pk]
        assert event.object_id == str(sample.pk) and event.object_repr == f"#{r.pk} → {sample.tube_id}"
        assert event.actor_id == sampler.pk and event.neighbourhood_id == round_.neighbourhood_id
        assert event.changes == {
            "round": round_.pk,
            "tube": sample.tube.barcode,
            "fill": results[i]["fill"],
            "retest": False,
            "batch": True,
        }
        assert r.name not in event.object_repr
    # The same batch again: the same answers, nothing stored twice.
    assert batch(items) == data
    assert Sample.objects.count() == 7 and AuditEvent.objects.filter(action="screening.sample").count() == 7


def test_a_batch_continues_the_rounds_tubes_and_refuses_with_each_reason(
    batch, people, round_, sampler, other_neighbourhood, make_resident
):
    for r in people[:3]:  # T1 holds three already
        services.sample_scan(actor=sampler, round_=round_, tube_barcode="T1", resident_code=code(r))
    services.tube_open(actor=sampler, round_=round_, barcode="T9")
    Tube.objects.filter(barcode="T9").update(status="closed")
    compound = places_services.compound_create(actor=None, neighbourhood=other_neighbourhood, name="红御苑")
    building = places_services.building_create(actor=None, compound=compound, number="9", units=1, floors=3)
    outsider = make_resident(places_services.household_create(actor=None, building=building, unit="1", room="101"))
    items = [
        {"tube": "T1", "resident_code": code(people[3])},  # 4/5
        {"tube": "T1", "resident_code": code(people[4])},  # 5/5: closes T1
        {"tube": "T1", "resident_code": code(people[5])},  # closed by this batch
        {"tube": "T9", "resident_code": code(people[5])},  # closed before
        {"tube": "T2", "resident_code": code(people[0])},  # swabbed earlier, into T1
        {"tube": "T2", "resident_code": code(outsider)},  # another neighbourhood
        {"tube": "bad barcode!", "resident_code": code(people[6])},
        {"tube": "T2", "resident_code": code(people[6])[:-1] + "0"},  # forged
        {"tube": "T2", "resident_code": code(people[6])},
        {"tube": "T2", "resident_code": code(people[6])},  # twice in the batch
    ]
    data = batch(items)
    got = [(i["status"], i["code"]) for i in data["items"]]
    assert got == [
        (201, "ok"),
        (201, "ok"),
        (409, "tube_closed"),
        (409, "tube_closed"),
        (409, "duplicate"),
        (422, "not_in_round"),
        (422, "bad_barcode"),
        (404, "unknown_code"),
        (201, "ok"),
        (409, "duplicate"),
    ]
    assert data["items"][1]["result"]["full"] is True and data["items"][1]["message"] == "已满, 已封管"
    assert "T1" in data["items"][4]["message"] and "T2" in data["items"][9]["message"]
    assert Tube.objects.get(barcode="T1").fill_count == 5 and Tube.objects.get(barcode="T2").fill_count == 1
    assert Sample.objects.count() == 6
    # A tube that already existed is not audited as opened again.
    assert (
        AuditEvent.objects.filter(
            action="screening.tube_open", object_id=str(Tube.objects.get(barcode="T1").pk)
        ).count()
        == 1
    )


def test_a_finished_round_refuses_new_items_and_replays_answered_ones(batch, people, round_, staff):
    first = batch([{"tube": "T1", "resident_code": code(people[0]), "idempotency_key": "k-0"}])
    services.round_finish(actor=staff, round_=round_)
    data = batch(
        [
            {"tube": "T1", "resident_code": code(people[0]), "idempotency_key": "k-0"},
            {"tube": "T2", "resident_code": code(people[1]), "idempotency_key": "k-1"},
        ]
    )
    assert data["items"][0] == first["items"][0]
    assert (data["items"][1]["status"], data["items"][1]["code"]) == (409, "round_finished")
    assert Sample.objects.count() == 1
    assert not Tube.objects.filter(barcode="T2").exists()  # a finished round opens no tube


@pytest.mark.skipif(connection.vendor != "postgresql", reason="compares PostgreSQL's statements with the ORM's")
def test_the_set_based_statements_answer_as_the_orm_path_does(neighbourhood, staff, sampler, people, frozen):
    """The same batch into two rounds, one through ``batches._batch_pg`` and one through ``batches._batch_fast``."""
    rounds = [services.round_create(actor=staff, neighbourhood=neighbourhood, date=frozen, pool_size=5) for _ in "ab"]
    for round_ in rounds:
        services.sample_scan(actor=sampler, round_=round_, tube_barcode="T1", resident_code=code(people[0]))
    items = [
        {"tube": "T1" if i < 6 else "T2", "resident_code": code(r), "idempotency_key": f"k-{i}"}
        for i, r in enumerate([*people, people[2]])
    ] + [{"tube": "T3", "resident_code": "nonsense"}]
    answers = []
    for round_, run in zip(rounds, (batches._batch_pg, batches._batch_fast), strict=True):
        with transaction.atomic():
            answers.append(run(actor=sampler, round_=round_, items=items))

    def plain(answer):
        status, body = answer
        return status, {k: v for k, v in body.items() if k != "sample_id"}

    assert [plain(a) for a in answers[0]] == [plain(a) for a in answers[1]]
    assert [s for s, _b in answers[0]] == [409, 201, 201, 201, 201, 409, 201, 409, 404]
    for round_ in rounds:
        fills = dict(Tube.objects.filter(round=round_).values_list("barcode", "fill_count"))
        assert fills == {"T1": 5, "T2": 1, "T3": 0}
        scope = services.idempotency_scope(sampler, round_)
        assert IdempotencyRecord.objects.filter(scope=scope).count() == 5


@pytest.mark.django_db(transaction=True)
def test_two_batches_racing_into_one_new_tube_never_overfill_it(
    frozen, neighbourhood, household, make_resident, make_user
):
    if connection.vendor != "postgresql":
        pytest.skip("needs two real PostgreSQL connections")
    staff = make_user(Role.COMMITTEE_STAFF, neighbourhood)
    round_ = services.round_create(actor=staff, neighbourhood=neighbourhood, date=frozen, pool_size=5)
    people = [make_resident(household, name=f"并发{i}") for i in range(12)]
    answers: list[tuple[int, dict]] = []
    barrier = threading.Barrier(2)

    def worker(chunk):
        barrier.wait()
        try:
            items = [{"tube": "C1", "resident_code": code(r)} for r in chunk]
            answers.extend(services.sample_scan_batch(actor=staff, round_=round_, items=items))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(people[i::2],)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tube = Tube.objects.get(round=round_, barcode="C1")
    assert tube.fill_count == 5 == Sample.objects.filter(tube=tube).count()
    statuses = sorted(status for status, _body in answers)
    assert statuses == [201] * 5 + [409] * 7
    assert AuditEvent.objects.filter(action="screening.tube_open", object_id=str(tube.pk)).count() == 1
