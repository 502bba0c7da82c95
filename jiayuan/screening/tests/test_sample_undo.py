"""A sampler undoes their own last scan within a minute (a wrong code, a dropped swab): the sample
goes, the tube's place is free again, and it is audited. Later, someone else's, or an older scan:
refused with a clear message."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.screening import selectors, services
from jiayuan.screening.choices import RetestStatus
from jiayuan.screening.models import Retest, Sample, Tube

from .conftest import code


def scan(round_, actor, tube, resident, **kw):
    return services.sample_scan(actor=actor, round_=round_, tube_barcode=tube, resident_code=code(resident), **kw)


def test_undo_within_a_minute_frees_the_place(round_, sampler, residents):
    a, b, c = residents["b1"][:3]
    scan(round_, sampler, "T1", a)
    last = scan(round_, sampler, "T1", b)
    outcome = services.sample_undo(actor=sampler, round_=round_, sample_id=last.sample.pk)
    assert outcome.name == b.name and outcome.reopened is False
    tube = Tube.objects.get(round=round_, barcode="T1")
    assert (tube.fill_count, tube.status) == (1, "open")
    assert not Sample.objects.filter(pk=last.sample.pk).exists()
    event = AuditEvent.objects.get(action="screening.sample_undo")
    assert event.actor == sampler and event.changes["fill"] == 1 and event.object_id == str(last.sample.pk)
    # The freed place takes the next swab, and the undone person can be swabbed again.
    assert scan(round_, sampler, "T1", c).tube.fill_count == 2
    assert scan(round_, sampler, "T1", b).tube.fill_count == 3


def test_undo_reopens_a_tube_that_closed_on_that_swab(round_, sampler, residents):
    people = residents["b1"] + residents["b2"]
    for r in people[:4]:
        scan(round_, sampler, "T1", r)
    fifth = scan(round_, sampler, "T1", people[4])
    assert fifth.full and fifth.tube.status == "closed"
    outcome = services.sample_undo(actor=sampler, round_=round_, sample_id=fifth.sample.pk)
    assert outcome.reopened is True
    tube = Tube.objects.get(pk=fifth.tube.pk)
    assert (tube.fill_count, tube.status, tube.closed_at) == (4, "open", None)
    assert scan(round_, sampler, "T1", people[5]).tube.status == "closed"


def test_undo_after_a_minute_is_refused(round_, sampler, residents):
    last = scan(round_, sampler, "T1", residents["b1"][0])
    later = time_machine.travel(timezone.now() + dt.timedelta(seconds=61), tick=False)
    with later, pytest.raises(services.ScanRejected) as excinfo:
        services.sample_undo(actor=sampler, round_=round_, sample_id=last.sample.pk)
    assert excinfo.value.code == "too_late" and "超过1分钟" in excinfo.value.message_text
    assert Sample.objects.filter(pk=last.sample.pk).exists()
    assert Tube.objects.get(round=round_, barcode="T1").fill_count == 1
    assert not AuditEvent.objects.filter(action="screening.sample_undo").exists()


def test_another_users_scan_and_an_older_scan_are_refused(round_, sampler, make_user, neighbourhood, residents):
    other = make_user(Role.SAMPLER, neighbourhood, username="sampler2")
    first = scan(round_, sampler, "T1", residents["b1"][0])
    second = scan(round_, sampler, "T1", residents["b1"][1])
    with pytest.raises(services.ScanRejected) as excinfo:
        services.sample_undo(actor=other, round_=round_, sample_id=second.sample.pk)
    assert excinfo.value.code == "not_yours" and excinfo.value.message_text == "只能撤销自己扫的记录"
    with pytest.raises(services.ScanRejected) as excinfo:
        services.sample_undo(actor=sampler, round_=round_, sample_id=first.sample.pk)
    assert excinfo.value.code == "not_last"
    assert Sample.objects.filter(round=round_).count() == 2
    assert Tube.objects.get(round=round_, barcode="T1").fill_count == 2


def test_undo_refused_once_the_round_is_finished(round_, staff, sampler, residents):
    last = scan(round_, sampler, "T1", residents["b1"][0])
    services.round_finish(actor=staff, round_=round_)
    with pytest.raises(services.ScanRejected) as excinfo:
        services.sample_undo(actor=sampler, round_=round_, sample_id=last.sample.pk)
    assert excinfo.value.code == "round_finished"


def test_undo_of_a_retest_swab_puts_the_retest_back(frozen, round_, staff, sampler, residents):
    r = residents["b1"][0]
    report, _ = services.antigen_report_submit(actor=None, resident=r, date=frozen, result="positive")
    services.tube_open(actor=sampler, round_=round_, barcode="S1", is_retest=True)
    last = scan(round_, sampler, "S1", r, open_tube=False, retest=True)
    assert last.tube.status == "closed"  # a retest tube holds one swab
    services.sample_undo(actor=sampler, round_=round_, sample_id=last.sample.pk)
    retest = Retest.objects.get(antigen_report=report)
    assert (retest.status, retest.retest_sample_id, retest.round_id) == (RetestStatus.PENDING, None, None)
    tube = Tube.objects.get(pk=last.tube.pk)
    assert (tube.fill_count, tube.status) == (0, "open")


def test_a_scan_through_the_api_path_can_be_undone(round_, sampler, residents):
    """``sample_scan_one`` is the scanner's path (one statement on PostgreSQL, ADR 0007)."""
    r = residents["b1"][0]
    _round, scanned = selectors.round_for_scan(user=sampler, round_id=round_.pk, resident_id=r.pk)
    status, body = services.sample_scan_one(
        actor=sampler, round_=round_, tube="T9", resident_code=code(r), idempotency_key="k1", scanned=scanned
    )
    assert status == 201
    services.sample_undo(actor=sampler, round_=round_, sample_id=body["sample_id"])
    assert Tube.objects.get(round=round_, barcode="T9").fill_count == 0
    assert not Sample.objects.filter(round=round_).exists()


def test_sampler_page_offers_the_undo_for_a_minute(client, round_, sampler, residents):
    a, b = residents["b1"][:2]
    client.force_login(sampler)
    url = f"/screening/{round_.pk}/sample/"
    client.post(url + "scan/", {"code": "T1"})
    client.post(url + "scan/", {"code": code(a)})
    page = client.post(url + "scan/", {"code": code(b)}).content.decode()
    last = Sample.objects.get(round=round_, resident=b)
    assert "撤销上一条" in page and f'name="sample" value="{last.pk}"' in page
    page = client.post(url + "undo/", {"sample": last.pk}).content.decode()
    assert f"已撤销 {b.name}" in page and "1/5" in page
    # Still in the same tube: the next scan fills the freed place.
    page = client.post(url + "scan/", {"code": code(b)}).content.decode()
    assert "2/5" in page
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=90), tick=False):
        page = client.get(url).content.decode()
        assert "撤销上一条" not in page
        last = Sample.objects.get(round=round_, resident=b)
        page = client.post(url + "undo/", {"sample": last.pk}).content.decode()
        assert "超过1分钟" in page
