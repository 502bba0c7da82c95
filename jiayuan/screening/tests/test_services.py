"""Rounds, scans, tubes, results, retests, missed list and statistics through the services."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from jiayuan.core.models import AuditEvent
from jiayuan.screening import selectors, services
from jiayuan.screening.choices import RetestStatus, TubeStatus
from jiayuan.screening.codes import parse_sampling_code, sampling_code
from jiayuan.screening.models import Retest, Sample, Tube
from jiayuan.screening.services import ScanRejected

from .conftest import code


def scan(round_, actor, tube, resident, **kw):
    return services.sample_scan(actor=actor, round_=round_, tube_barcode=tube, resident_code=code(resident), **kw)


def test_sampling_code_resolves_and_rejects_forgeries(db):
    c = sampling_code(12345)
    assert parse_sampling_code(c) == 12345
    assert parse_sampling_code(c.lower() + " ") == 12345
    assert parse_sampling_code("R12346-" + c.split("-")[1]) is None
    assert parse_sampling_code("R12345-AAAAAAAA") is None
    assert parse_sampling_code("garbage") is None


def test_tube_closes_at_pool_size_and_refuses_more(round_, sampler, residents):
    people = residents["b1"] + residents["b2"]
    for r in people[:4]:
        outcome = scan(round_, sampler, "T1", r)
        assert not outcome.full
    outcome = scan(round_, sampler, "T1", people[4])
    assert outcome.full and outcome.tube.status == TubeStatus.CLOSED
    with pytest.raises(ScanRejected) as exc:
        scan(round_, sampler, "T1", people[5])
    assert exc.value.status == 409 and exc.value.code == "tube_closed"
    assert Tube.objects.get(barcode="T1").fill_count == 5


def test_duplicate_scan_in_round_is_refused_and_stored_once(round_, sampler, residents):
    r = residents["b1"][0]
    scan(round_, sampler, "T1", r)
    with pytest.raises(ScanRejected) as exc:
        scan(round_, sampler, "T2", r)
    assert exc.value.status == 409 and exc.value.code == "duplicate"
    assert "T1" in exc.value.message_text
    assert Sample.objects.filter(resident=r).count() == 1
    assert not Tube.objects.filter(barcode="T2", fill_count__gt=0).exists()


def test_unknown_code_and_bad_barcode_and_unknown_tube(round_, sampler, residents):
    with pytest.raises(ScanRejected) as exc:
        services.sample_scan(actor=sampler, round_=round_, tube_barcode="T1", resident_code="R999999-ABCDEFGH")
    assert exc.value.status == 404 and exc.value.code == "unknown_code"
    with pytest.raises(ScanRejected) as exc:
        scan(round_, sampler, "bad barcode!", residents["b1"][0])
    assert exc.value.status == 422
    with pytest.raises(ScanRejected) as exc:
        scan(round_, sampler, "T9", residents["b1"][0], open_tube=False)
    assert exc.value.status == 404 and exc.value.code == "unknown_tube"
    assert not Sample.objects.exists()


def test_resident_of_other_neighbourhood_is_not_in_round(round_, sampler, other_neighbourhood, make_resident):
    from jiayuan.places import services as places_services

    c = places_services.compound_create(actor=None, neighbourhood=other_neighbourhood, name="别处")
    b = places_services.building_create(actor=None, compound=c, number="9")
    h = places_services.household_create(actor=None, building=b, room="101")
    stranger = make_resident(h, name="外人")
    with pytest.raises(ScanRejected) as exc:
        scan(round_, sampler, "T1", stranger)
    assert exc.value.status == 422


def test_hand_close_then_scan_is_refused(round_, sampler, residents):
    scan(round_, sampler, "T1", residents["b1"][0])
    tube = Tube.objects.get(barcode="T1")
    services.tube_close(actor=sampler, tube=tube)
    services.tube_close(actor=sampler, tube=tube)  # twice: no change
    assert AuditEvent.objects.filter(action="screening.tube_close").count() == 1
    with pytest.raises(ScanRejected) as exc:
        services.tube_open(actor=sampler, round_=round_, barcode="T1")
    assert exc.value.code == "tube_closed"


def test_finished_round_refuses_scans(round_, staff, sampler, residents):
    services.round_finish(actor=staff, round_=round_)
    with pytest.raises(ScanRejected) as exc:
        scan(round_, sampler, "T1", residents["b1"][0])
    assert exc.value.status == 409 and exc.value.code == "round_finished"


def test_visitor_is_sampled_and_recorded_masked(round_, sampler):
    outcome = services.sample_scan_person(
        actor=sampler, round_=round_, tube_barcode="T1", name="快递员王", contact="13912345678", kind="worker"
    )
    sample = outcome.sample
    assert sample.resident_id is None and sample.kind == "worker"
    assert sample.person_contact == "139****5678"
    with pytest.raises(ScanRejected):
        services.sample_scan_person(
            actor=sampler, round_=round_, tube_barcode="T1", name="快递员王", contact="139 1234 5678"
        )
    with pytest.raises(ValidationError):
        services.sample_scan_person(actor=sampler, round_=round_, tube_barcode="T1", name="", contact="")


def test_simulated_round_gives_exact_retests_missed_and_stats(round_, staff, sampler, residents, events):
    b1, b2, away = residents["b1"], residents["b2"], residents["away"]
    services.exemption_add(actor=staff, round_=round_, resident=b2[2], reason="卧床, 已另行上门")
    # Tube P1: b1[0..2] (pool 5, closed by hand). Tube P2: b2[0]. Missed: b1[3], b2[1].
    for r in b1[:3]:
        scan(round_, sampler, "P1", r)
    scan(round_, sampler, "P2", b2[0])
    for barcode in ("P1", "P2"):
        services.tube_close(actor=sampler, tube=Tube.objects.get(barcode=barcode))
    services.tube_result_record(actor=staff, round_=round_, barcode="P1", result="positive")
    services.tube_result_record(actor=staff, round_=round_, barcode="P2", result="negative")

    retests = Retest.objects.filter(round=round_)
    assert {r.resident_id for r in retests} == {r.pk for r in b1[:3]}
    assert all(r.home_control and r.status == RetestStatus.PENDING for r in retests)
    assert len(events["screening.pool_positive"]) == 1
    assert {r.pk for r in events["screening.pool_positive"][0]["residents"]} == {r.pk for r in b1[:3]}
    assert events["screening.positive"] == []

    missed = selectors.missed_list(user=staff, round_=round_)
    assert [r.pk for r in missed] == [b1[3].pk, b2[1].pk]

    stats = selectors.round_stats(user=staff, round_=round_)
    t = stats["total"]
    assert (t["residents"], t["expected"], t["exempt"], t["sampled"], t["missed"]) == (8, 6, 2, 4, 2)
    assert (t["tubes"], t["positive_tubes"], t["retests"], t["tests_used"]) == (2, 1, 3, 2)
    by_b = {row["building_id"]: row for row in stats["buildings"]}
    assert by_b[b1[0].household.building_id]["missed"] == 1
    assert by_b[b1[0].household.building_id]["exempt"] == 1  # the one away
    assert by_b[b2[0].household.building_id]["exempt"] == 1  # the manual exemption
    assert by_b[b1[0].household.building_id]["retests"] == 3
    assert away.pk not in [r.pk for r in missed]

    # Individual retests: one negative (home control ends), one positive (a case).
    scan(round_, sampler, "R1", b1[0], retest=True)
    scan(round_, sampler, "R2", b1[1], retest=True)
    with pytest.raises(ScanRejected) as exc:
        scan(round_, sampler, "R3", b2[0], retest=True)  # not on the retest list
    assert exc.value.code == "not_on_retest"
    services.tube_result_record(actor=staff, round_=round_, barcode="R1", result="negative")
    services.tube_result_record(actor=staff, round_=round_, barcode="R2", result="positive")
    r0 = Retest.objects.get(resident=b1[0])
    assert r0.status == RetestStatus.NEGATIVE and not r0.home_control
    assert [e["resident"].pk for e in events["screening.retest_negative"]] == [b1[0].pk]
    assert [e["resident"].pk for e in events["screening.positive"]] == [b1[1].pk]
    assert events["screening.positive"][0]["source"] == "pcr"
    t = selectors.round_stats(user=staff, round_=round_)["total"]
    assert (t["retest_tubes"], t["tests_used"], t["positive_retests"]) == (2, 4, 1)


def test_individual_tube_positive_publishes_positive(frozen, neighbourhood, staff, sampler, residents, events):
    round_ = services.round_create(actor=staff, neighbourhood=neighbourhood, date=frozen, pool_size=1)
    outcome = scan(round_, sampler, "S1", residents["b1"][0])
    assert outcome.full and outcome.tube.status == TubeStatus.CLOSED
    services.tube_result_record(actor=staff, round_=round_, barcode="S1", result="positive")
    assert [e["resident"].pk for e in events["screening.positive"]] == [residents["b1"][0].pk]
    assert events["screening.pool_positive"] == []
    assert not Retest.objects.exists()


def test_result_twice_is_noop_and_conflict_refused(round_, staff, sampler, residents, events):
    scan(round_, sampler, "P1", residents["b1"][0])
    with pytest.raises(ScanRejected) as exc:
        services.tube_result_record(actor=staff, round_=round_, barcode="P1", result="negative")
    assert exc.value.code == "tube_open"
    services.tube_close(actor=sampler, tube=Tube.objects.get(barcode="P1"))
    services.tube_result_record(actor=staff, round_=round_, barcode="P1", result="positive")
    again = services.tube_result_record(actor=staff, round_=round_, barcode="P1", result="positive")
    assert not again.changed
    assert Retest.objects.count() == 1
    assert len(events["screening.pool_positive"]) == 1
    with pytest.raises(ScanRejected) as exc:
        services.tube_result_record(actor=staff, round_=round_, barcode="P1", result="negative")
    assert exc.value.code == "result_conflict"
    assert AuditEvent.objects.filter(action="screening.tube_result").count() == 1


def test_building_leader_sees_only_own_buildings_missed(round_, make_user, building, residents):
    from jiayuan.core.permissions import Role

    leader = make_user(Role.BUILDING_LEADER, building)
    missed = selectors.missed_list(user=leader, round_=round_)
    assert {r.household.building_id for r in missed} == {building.pk}
    stats = selectors.round_stats(user=leader, round_=round_)
    assert [row["building_id"] for row in stats["buildings"]] == [building.pk]


def test_round_on_chosen_buildings_only_expects_them(frozen, neighbourhood, staff, building, residents):
    round_ = services.round_create(actor=staff, neighbourhood=neighbourhood, date=frozen, buildings=[building])
    stats = selectors.round_stats(user=staff, round_=round_)
    assert stats["total"]["expected"] == 4
    assert {r.household.building_id for r in selectors.missed_list(user=staff, round_=round_)} == {building.pk}


def test_lab_file_parsing_with_and_without_header():
    from jiayuan.screening.results_import import parse_results

    assert parse_results("试管条码,检测结果\nT1,阴性\n\nT2,阳性\n".encode(), "lab.csv") == [
        (2, "T1", "阴性"),
        (4, "T2", "阳性"),
    ]
    assert parse_results(b"T1,negative\nT2,+\n", "lab.csv") == [(1, "T1", "negative"), (2, "T2", "+")]
    with pytest.raises(ValidationError):
        parse_results("条码,备注\nT1,x\n".encode(), "lab.csv")
    with pytest.raises(ValidationError):
        parse_results(b"\x00\x01garbage", "lab.xlsx")
