"""The screening API: round creation, scans (single, batch, idempotent), results, lists, stats,
antigen reports, and scans racing into one tube from two PostgreSQL connections."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from jiayuan.accounts.services import api_token_create
from jiayuan.core.permissions import Role
from jiayuan.screening.models import AntigenReport, Retest, Sample, Tube

from .conftest import code


def bearer(user):
    _t, key = api_token_create(actor=None, user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def post(client, url, data, user):
    return client.post(url, data, content_type="application/json", **bearer(user))


@pytest.fixture
def api_round(client, frozen, staff, building, building2):
    resp = post(
        client,
        "/api/v1/rounds",
        {
            "kind": "pcr",
            "date": frozen.isoformat(),
            "pool_size": 5,
            "stations": [{"name": "南门采样点", "samplers": 2, "swabs_per_hour": 60}],
        },
        staff,
    )
    assert resp.status_code == 201, resp.content
    return resp.json()


def test_create_round_returns_id_and_scope_checked(client, api_round, make_user, building, frozen):
    assert api_round["id"] and api_round["pool_size"] == 5 and api_round["stations"][0]["name"] == "南门采样点"
    leader = make_user(Role.BUILDING_LEADER, building)
    resp = post(client, "/api/v1/rounds", {"date": frozen.isoformat(), "pool_size": 10}, leader)
    assert resp.status_code == 403 and resp.json()["detail"] == "没有安排检测轮次的权限"
    resp = post(client, "/api/v1/rounds", {"date": "2026-13-01", "pool_size": 7}, leader)
    assert resp.status_code == 422
    fields = {e["field"] for e in resp.json()["errors"]}
    assert {"date", "pool_size"} <= fields


def test_create_round_on_chosen_buildings(client, staff, building, frozen):
    resp = post(client, "/api/v1/rounds", {"date": frozen.isoformat(), "building_ids": [building.pk]}, staff)
    assert resp.status_code == 201 and resp.json()["building_ids"] == [building.pk]
    resp = post(client, "/api/v1/rounds", {"date": frozen.isoformat(), "building_ids": [999999]}, staff)
    assert resp.status_code == 422


def test_create_round_target_errors_name_the_field(
    client, staff, neighbourhood, building, other_neighbourhood, frozen, make_user
):
    from jiayuan.places import services as places

    other_building = places.building_create(
        actor=None,
        compound=places.compound_create(actor=None, neighbourhood=other_neighbourhood, name="外"),
        number="9",
    )
    day = frozen.isoformat()

    def errors(body, user=staff):
        resp = post(client, "/api/v1/rounds", {"date": day, **body}, user)
        assert resp.status_code == 422, resp.content
        return {e["field"]: e["message"] for e in resp.json()["errors"]}

    # Another neighbourhood's building is not in the staff member's scope: as if it did not exist.
    assert errors({"building_ids": [other_building.pk]}) == {"building_ids": "楼栋不存在或不在您的管理范围"}
    assert errors({"neighbourhood_id": other_neighbourhood.pk}) == {
        "neighbourhood_id": "居民区不存在或不在您的管理范围"
    }
    assert errors({"neighbourhood_id": other_neighbourhood.pk, "building_ids": [building.pk]}) == {
        "neighbourhood_id": "楼栋不属于该居民区"
    }
    from jiayuan.accounts.models import Assignment

    both = make_user(Role.COMMITTEE_STAFF, neighbourhood, username="both")
    Assignment.objects.create(
        user=both, role=Role.COMMITTEE_STAFF, level="neighbourhood", neighbourhood=other_neighbourhood
    )
    assert errors({"building_ids": [building.pk, other_building.pk]}, both) == {
        "building_ids": "一轮筛查的楼栋须属于同一居民区"
    }
    assert errors({}, both) == {"neighbourhood_id": "您管理多个居民区, 请指定 neighbourhood_id"}
    resp = post(client, "/api/v1/rounds", {"date": day, "neighbourhood_id": other_neighbourhood.pk}, both)
    assert resp.status_code == 201 and resp.json()["neighbourhood_id"] == other_neighbourhood.pk


def test_scan_answers_fill_and_every_bad_case(client, api_round, sampler, residents):
    url = f"/api/v1/rounds/{api_round['id']}/samples"
    people = residents["b1"] + residents["b2"]
    for i, r in enumerate(people[:5], start=1):
        resp = post(client, url, {"tube": "T1", "resident_code": code(r)}, sampler)
        assert resp.status_code == 201, resp.content
        assert resp.json()["fill"] == i
    assert resp.json()["full"] is True and resp.json()["closed"] is True
    # full/closed tube
    resp = post(client, url, {"tube": "T1", "resident_code": code(people[5])}, sampler)
    assert resp.status_code == 409 and resp.json()["code"] == "tube_closed"
    # duplicate
    resp = post(client, url, {"tube": "T2", "resident_code": code(people[0])}, sampler)
    assert resp.status_code == 409 and resp.json()["code"] == "duplicate" and "T1" in resp.json()["detail"]
    # unknown code
    resp = post(client, url, {"tube": "T2", "resident_code": "R424242-ABCDEFGH"}, sampler)
    assert resp.status_code == 404 and resp.json()["code"] == "unknown_code"
    # bad barcode / missing fields
    resp = post(client, url, {"tube": "T 2", "resident_code": code(people[5])}, sampler)
    assert resp.status_code == 422
    resp = post(client, url, {"tube": "T2"}, sampler)
    assert resp.status_code == 422
    assert Sample.objects.count() == 5


def test_scan_forbidden_round_is_404(client, api_round, make_user, building, residents):
    leader = make_user(Role.BUILDING_LEADER, building)  # may view, may not sample
    url = f"/api/v1/rounds/{api_round['id']}/samples"
    resp = post(client, url, {"tube": "T1", "resident_code": code(residents["b1"][0])}, leader)
    assert resp.status_code == 404


def test_retry_with_same_idempotency_key_returns_first_answer(client, api_round, sampler, residents):
    url = f"/api/v1/rounds/{api_round['id']}/samples"
    body = {"tube": "T1", "resident_code": code(residents["b1"][0]), "idempotency_key": "scan-1"}
    first = post(client, url, body, sampler)
    second = post(client, url, body, sampler)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Sample.objects.count() == 1 and Tube.objects.get(barcode="T1").fill_count == 1
    # Batch retry with the same keys: same answers, nothing new.
    items = [{"tube": "T2", "resident_code": code(r), "idempotency_key": f"b-{r.pk}"} for r in residents["b2"]]
    a = post(client, f"{url}/batch", {"items": items}, sampler).json()
    b = post(client, f"{url}/batch", {"items": items}, sampler).json()
    assert a == b and a["accepted"] == 3
    assert Sample.objects.count() == 4


def test_visitor_sample_through_api(client, api_round, sampler):
    url = f"/api/v1/rounds/{api_round['id']}/samples"
    resp = post(client, url, {"tube": "V1", "person": {"name": "访客李", "contact": "13800001234"}}, sampler)
    assert resp.status_code == 201 and resp.json()["resident"] is None
    assert Sample.objects.get().person_contact == "138****1234"


def test_batch_answers_item_by_item(client, api_round, sampler, residents):
    url = f"/api/v1/rounds/{api_round['id']}/samples/batch"
    b1, b2 = residents["b1"], residents["b2"]
    items = [
        {"tube": "B1", "resident_code": code(b1[0])},
        {"tube": "B1", "resident_code": code(b1[0])},  # duplicate within the batch
        {"tube": "B1", "resident_code": "R1-XXXXXXXX"},  # unknown
        {"tube": "B1", "resident_code": code(b1[1])},
        {"tube": "B1", "resident_code": code(b1[2])},
        {"tube": "B1", "resident_code": code(b1[3])},
        {"tube": "B1", "resident_code": code(b2[0])},  # fills the tube (5)
        {"tube": "B1", "resident_code": code(b2[1])},  # closed
        {"tube": "bad barcode", "resident_code": code(b2[2])},
    ]
    resp = post(client, url, {"items": items}, sampler)
    assert resp.status_code == 200, resp.content
    data = resp.json()
    assert [i["status"] for i in data["items"]] == [201, 409, 404, 201, 201, 201, 201, 409, 422]
    assert data["items"][6]["result"]["full"] is True
    assert data["items"][7]["code"] == "tube_closed"
    assert data["accepted"] == 5 and data["rejected"] == 4
    tube = Tube.objects.get(barcode="B1")
    assert tube.fill_count == 5 and tube.status == "closed"
    assert Sample.objects.count() == 5


def test_tube_results_lists_and_stats(client, api_round, staff, sampler, residents, events):
    rid = api_round["id"]
    b1 = residents["b1"]
    for r in b1[:3]:
        post(client, f"/api/v1/rounds/{rid}/samples", {"tube": "P1", "resident_code": code(r)}, sampler)
    Tube.objects.filter(barcode="P1").update(status="closed")
    resp = post(
        client,
        f"/api/v1/rounds/{rid}/tube-results",
        {"items": [{"tube": "P1", "result": "positive"}, {"tube": "NOPE", "result": "negative"}]},
        staff,
    )
    assert resp.status_code == 200
    assert [i["status"] for i in resp.json()] == [200, 404]
    assert resp.json()[0]["retests"] == 3
    assert Retest.objects.count() == 3 and len(events["screening.pool_positive"]) == 1
    # sampler may not enter results
    resp = post(client, f"/api/v1/rounds/{rid}/tube-results", {"items": []}, sampler)
    assert resp.status_code == 404

    retests = client.get(f"/api/v1/rounds/{rid}/retests", **bearer(staff)).json()
    assert retests["count"] == 3 and all(r["home_control"] for r in retests["items"])
    missed = client.get(f"/api/v1/rounds/{rid}/missed", **bearer(staff)).json()
    assert {m["id"] for m in missed["items"]} == {b1[3].pk, *[r.pk for r in residents["b2"]]}
    b2_id = residents["b2"][0].household.building_id
    only_b2 = client.get(f"/api/v1/rounds/{rid}/missed?building_id={b2_id}", **bearer(staff)).json()
    assert only_b2["count"] == 3
    stats = client.get(f"/api/v1/rounds/{rid}/stats", **bearer(staff)).json()
    assert stats["total"]["sampled"] == 3 and stats["total"]["missed"] == 4 and stats["total"]["positive_tubes"] == 1


def test_leader_missed_list_is_their_building_only(client, api_round, make_user, building, building2, residents):
    leader = make_user(Role.BUILDING_LEADER, building)
    rid = api_round["id"]
    missed = client.get(f"/api/v1/rounds/{rid}/missed", **bearer(leader)).json()
    assert missed["count"] == 4
    assert client.get(f"/api/v1/rounds/{rid}/missed?building_id={building2.pk}", **bearer(leader)).status_code == 404


def test_plan_endpoint(client, api_round, staff, residents):
    from jiayuan.screening import services
    from jiayuan.screening.models import Round

    services.plan_generate(actor=staff, round_=Round.objects.get(pk=api_round["id"]))
    data = client.get(f"/api/v1/rounds/{api_round['id']}/plan", **bearer(staff)).json()
    assert len(data["buildings"]) == 2
    assert all("南门采样点采样, 请带好核酸码" in b["message"] for b in data["buildings"])


def test_antigen_report_replaces_same_day_and_is_idempotent(client, frozen, make_user, building, residents, events):
    leader = make_user(Role.BUILDING_LEADER, building)
    r = residents["b1"][0]
    body = {"resident": r.pk, "date": frozen.isoformat(), "result": "negative", "idempotency_key": "a1"}
    first = post(client, "/api/v1/antigen-reports", body, leader)
    assert first.status_code == 201 and first.json()["created"] is True
    again = post(client, "/api/v1/antigen-reports", body, leader)
    assert again.status_code == 201 and again.json() == first.json()
    replaced = post(client, "/api/v1/antigen-reports", {**body, "result": "positive", "idempotency_key": "a2"}, leader)
    assert replaced.status_code == 200 and replaced.json()["created"] is False
    assert AntigenReport.objects.get(resident=r).result == "positive"
    assert AntigenReport.objects.count() == 1
    # A positive antigen report is not a case: the resident awaits the PCR retest.
    assert [e["resident"].pk for e in events["screening.antigen_positive"]] == [r.pk]
    assert events["screening.positive"] == []
    other = post(
        client, "/api/v1/antigen-reports", {**body, "resident": residents["b2"][0].pk, "idempotency_key": ""}, leader
    )
    assert other.status_code == 404


def test_resident_api_exposes_sampling_code_to_samplers_only(client, sampler, make_user, building, residents):
    r = residents["b1"][0]
    got = client.get(f"/api/v1/residents/{r.pk}", **bearer(sampler)).json()
    assert got["sampling_code"] == code(r)
    listed = client.get("/api/v1/residents", **bearer(sampler)).json()
    assert all(item["sampling_code"] for item in listed["items"])
    volunteer = make_user(Role.VOLUNTEER, building)
    got = client.get(f"/api/v1/residents/{r.pk}", **bearer(volunteer)).json()
    assert got["sampling_code"] is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_scans_never_overfill_a_tube(frozen, neighbourhood, household, make_resident, make_user):
    if connection.vendor != "postgresql":
        pytest.skip("needs two real PostgreSQL connections")
    from jiayuan.screening import services

    staff = make_user(Role.COMMITTEE_STAFF, neighbourhood)
    round_ = services.round_create(actor=staff, neighbourhood=neighbourhood, date=frozen, pool_size=5)
    people = [make_resident(household, name=f"并发{i}") for i in range(12)]
    results: list[str] = []
    barrier = threading.Barrier(2)

    def worker(chunk):
        barrier.wait()
        try:
            for r in chunk:
                try:
                    services.sample_scan(actor=staff, round_=round_, tube_barcode="C1", resident_code=code(r))
                    results.append("ok")
                except services.ScanRejected as exc:
                    results.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(people[i::2],)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tube = Tube.objects.get(round=round_, barcode="C1")
    assert tube.fill_count == 5 == Sample.objects.filter(tube=tube).count()
    assert results.count("ok") == 5 and results.count("tube_closed") + results.count("tube_full") == 7


@pytest.mark.django_db(transaction=True)
def test_concurrent_same_resident_in_two_tubes_is_stored_once(
    frozen, neighbourhood, household, make_resident, make_user
):
    if connection.vendor != "postgresql":
        pytest.skip("needs two real PostgreSQL connections")
    from jiayuan.screening import services

    staff = make_user(Role.COMMITTEE_STAFF, neighbourhood)
    round_ = services.round_create(actor=staff, neighbourhood=neighbourhood, date=frozen, pool_size=10)
    r = make_resident(household, name="同一人")
    results: list[str] = []
    barrier = threading.Barrier(2)

    def worker(barcode):
        barrier.wait()
        try:
            services.sample_scan(actor=staff, round_=round_, tube_barcode=barcode, resident_code=code(r))
            results.append("ok")
        except services.ScanRejected as exc:
            results.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(b,)) for b in ("X1", "X2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["duplicate", "ok"]
    assert Sample.objects.filter(resident=r).count() == 1
    assert sum(Tube.objects.filter(round=round_).values_list("fill_count", flat=True)) == 1


@pytest.mark.parametrize("value", ["00:00:00Z", "08:00+08:00", "8:00", "25:00", "08:00:00.5", 800])
def test_round_times_are_local_wall_clock_times(client, staff, frozen, value):
    """A time with a zone compared naive with aware times, then could not be written: a 500, and
    the round was saved before it. Now it is a 422 on the field and nothing is saved."""
    from jiayuan.screening.models import Round

    resp = post(client, "/api/v1/rounds", {"date": frozen.isoformat(), "start_time": value}, staff)
    assert resp.status_code == 422, resp.content
    assert [e["field"] for e in resp.json()["errors"]] == ["start_time"]
    assert not Round.objects.exists()


def test_round_times_are_answered_as_hh_mm(client, staff, frozen):
    resp = post(client, "/api/v1/rounds", {"date": frozen.isoformat(), "start_time": "07:30:00"}, staff)
    assert resp.status_code == 201, resp.content
    assert resp.json()["start_time"] == "07:30" and resp.json()["end_time"] == "11:00"


def test_round_create_with_idempotency_key_creates_one_round(client, staff, frozen):
    from jiayuan.screening.models import Round

    body = {"date": frozen.isoformat(), "idempotency_key": "round-1", "stations": [{"name": "北门"}]}
    first = post(client, "/api/v1/rounds", body, staff)
    again = post(client, "/api/v1/rounds", body, staff)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Round.objects.count() == 1
    assert post(client, "/api/v1/rounds", {**body, "idempotency_key": "round-2"}, staff).status_code == 201
    assert Round.objects.count() == 2


def test_round_date_is_a_real_date(client, staff):
    for value in (0, "0", "1970-01-01", "2026-02-30"):
        resp = post(client, "/api/v1/rounds", {"date": value}, staff)
        assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "date", (value, resp.content)


def _closed_tubes(round_, actor, residents, count: int, prefix: str) -> list[str]:
    """``count`` closed single-person tubes (pool size 1 would fan out on positive: not used)."""
    from django.utils import timezone

    tubes = Tube.objects.bulk_create(
        [
            Tube(
                round=round_,
                neighbourhood_id=round_.neighbourhood_id,
                barcode=f"{prefix}{i:05d}",
                pool_size=round_.pool_size,
                fill_count=1,
                status="closed",
                closed_at=timezone.now(),
            )
            for i in range(count)
        ]
    )
    return [t.barcode for t in tubes]


def test_tube_results_in_bulk_do_not_take_a_query_per_tube(client, staff, round_, residents):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from jiayuan.core.models import AuditEvent

    url = f"/api/v1/rounds/{round_.pk}/tube-results"
    counts = []
    for prefix, n in (("A", 10), ("B", 200)):
        items = [{"tube": b, "result": "negative"} for b in _closed_tubes(round_, staff, residents, n, prefix)]
        with CaptureQueriesContext(connection) as ctx:
            resp = post(client, url, {"items": items}, staff)
        assert resp.status_code == 200, resp.content
        assert [i["status"] for i in resp.json()] == [200] * n
        counts.append(len(ctx.captured_queries))
    # One query per tube would add 190; SQLite alone splits a multi-row INSERT into batches of
    # 999 parameters (the audit rows: a few more statements per thousand tubes).
    if connection.vendor == "postgresql":
        assert counts[0] == counts[1], counts
    else:
        assert counts[1] - counts[0] <= 3, counts
    assert Tube.objects.filter(result="negative").count() == 210
    assert AuditEvent.objects.filter(action="screening.tube_result").count() == 210


def test_tube_results_in_bulk_answer_each_item_as_one_by_one(client, staff, sampler, round_, residents, events):
    """Unknown, open, repeated and conflicting tubes are answered in order, as before."""
    a, b = _closed_tubes(round_, staff, residents, 2, "C")
    Tube.objects.create(round=round_, neighbourhood_id=round_.neighbourhood_id, barcode="OPEN", pool_size=5)
    items = [
        {"tube": a, "result": "negative"},
        {"tube": "NOPE", "result": "negative"},
        {"tube": "OPEN", "result": "negative"},
        {"tube": b, "result": "negative"},
        {"tube": b, "result": "negative"},  # the same again: unchanged
        {"tube": b, "result": "positive"},  # a different result: refused
    ]
    resp = post(client, f"/api/v1/rounds/{round_.pk}/tube-results", {"items": items}, staff)
    data = resp.json()
    assert [i["status"] for i in data] == [200, 404, 409, 200, 200, 409]
    assert [i["code"] for i in data] == ["ok", "unknown_tube", "tube_open", "ok", "ok", "result_conflict"]
    assert data[4]["message"] == "结果相同, 未改动"
    assert set(Tube.objects.filter(barcode__in=[a, b]).values_list("result", flat=True)) == {"negative"}
