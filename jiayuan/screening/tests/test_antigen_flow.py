"""A positive antigen report, end to end with control (no monkeypatching): it asks to be confirmed,
keeps the resident (and household, per the policy) home under 抗原阳性待核酸复核 and puts the
resident on the retest list; it is not a case and changes no zone. The case opens when staff
confirm the report (MANAGE_CASES, audited) or when the PCR retest is positive; a negative retest
ends the temporary control."""

from __future__ import annotations

import pytest

from jiayuan.accounts import services as account_services
from jiayuan.control import services as control_services
from jiayuan.control.choices import CaseSource, QuarantineReason, QuarantineStatus, ZoneLevel
from jiayuan.control.models import Case, Quarantine
from jiayuan.control.selectors import zone_levels
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.screening import selectors, services
from jiayuan.screening.choices import RetestStatus
from jiayuan.screening.models import AntigenReport, Retest

from .conftest import code


def _controls(resident):
    return Quarantine.objects.filter(
        resident=resident, reason=QuarantineReason.ANTIGEN_POSITIVE, status=QuarantineStatus.ACTIVE
    )


def test_positive_report_awaits_pcr_without_a_case_or_zone_change(frozen, building, residents):
    me, mate = residents["b1"][0], residents["b1"][1]
    report, _ = services.antigen_report_submit(actor=None, resident=me, date=frozen, result="positive")
    retest = Retest.objects.get(antigen_report=report)
    assert (retest.status, retest.round_id, retest.home_control) == (RetestStatus.PENDING, None, True)
    assert retest.source_label.startswith("抗原自测阳性")
    assert _controls(me).get().via_household is False
    assert _controls(mate).get().via_household is True
    assert not _controls(residents["away"]).exists()
    assert not Case.objects.exists()
    assert zone_levels(building_ids=[building.pk])[building.pk] == ZoneLevel.PRECAUTION
    assert AuditEvent.objects.filter(action="screening.retest_list", object_id=str(retest.pk)).exists()

    # Reported again (the same day, or a negative then positive again): still one retest.
    services.antigen_report_submit(actor=None, resident=me, date=frozen, result="negative")
    services.antigen_report_submit(actor=None, resident=me, date=frozen, result="positive")
    assert Retest.objects.filter(resident=me).count() == 1
    assert _controls(me).count() == 1


def test_staff_confirm_opens_the_case_audited(client, frozen, staff, make_user, building, residents):
    me = residents["b1"][0]
    report, _ = services.antigen_report_submit(actor=None, resident=me, date=frozen, result="positive")
    url = f"/screening/antigen/{report.pk}/confirm/"

    # A building leader may report antigen results but not open cases.
    client.force_login(make_user(Role.BUILDING_LEADER, building))
    assert "确认阳性(登记病例)" not in client.get("/screening/antigen/").content.decode()
    assert client.post(url).status_code == 404
    assert not Case.objects.exists()

    client.force_login(staff)
    page = client.get("/screening/antigen/").content.decode()
    assert "确认阳性(登记病例)" in page and "待复核" in page
    resp = client.post(url, {"note": "已电话核实"}, follow=True)
    assert "已登记为阳性病例" in resp.content.decode()
    case = Case.objects.get(resident=me)
    assert case.source == CaseSource.ANTIGEN and "确认" in case.ref
    assert zone_levels(building_ids=[building.pk])[building.pk] == ZoneLevel.SEALED
    report.refresh_from_db()
    assert report.confirmed_by == staff and report.confirmed_at is not None
    assert Retest.objects.get(antigen_report=report).status == RetestStatus.CONFIRMED
    event = AuditEvent.objects.get(action="screening.antigen_confirm")
    assert event.actor == staff and event.changes["note"] == "已电话核实"
    # The resident's temporary control became the case.
    assert Quarantine.objects.get(resident=me).status == QuarantineStatus.TRANSFERRED

    # Twice: refused, nothing more.
    resp = client.post(url, follow=True)
    assert "已确认" in resp.content.decode()
    assert AuditEvent.objects.filter(action="screening.antigen_confirm").count() == 1
    # A negative report cannot be confirmed.
    other, _ = services.antigen_report_submit(actor=None, resident=residents["b2"][0], date=frozen, result="negative")
    resp = client.post(f"/screening/antigen/{other.pk}/confirm/", follow=True)
    assert "只有阳性" in resp.content.decode()


def test_pcr_retest_in_an_open_round_decides(frozen, neighbourhood, staff, sampler, building, building2, residents):
    me, mate = residents["b1"][0], residents["b1"][1]
    other = residents["b2"][0]
    mine, _ = services.antigen_report_submit(actor=None, resident=me, date=frozen, result="positive")
    services.antigen_report_submit(actor=None, resident=other, date=frozen, result="positive")
    round_ = services.round_create(actor=staff, neighbourhood=neighbourhood, date=frozen, pool_size=10)
    # Any open round of the neighbourhood lists them for a retest tube.
    listed = {r.resident_id for r in selectors.retest_list(user=staff, round_=round_)}
    assert listed == {me.pk, other.pk}

    for resident, tube in ((me, "S1"), (other, "S2")):
        services.tube_open(actor=sampler, round_=round_, barcode=tube, is_retest=True)
        services.sample_scan(
            actor=sampler, round_=round_, tube_barcode=tube, resident_code=code(resident), open_tube=False, retest=True
        )
    row = Retest.objects.get(antigen_report=mine)
    assert row.round_id == round_.pk and row.status == RetestStatus.SAMPLED

    # Negative: the temporary control ends, for the housemates too; no case.
    services.tube_result_record(actor=staff, round_=round_, barcode="S1", result="negative")
    assert Retest.objects.get(antigen_report=mine).status == RetestStatus.NEGATIVE
    assert not _controls(me).exists() and not _controls(mate).exists()
    assert not Case.objects.filter(resident=me).exists()

    # Positive: the case opens and the building is sealed.
    services.tube_result_record(actor=staff, round_=round_, barcode="S2", result="positive")
    assert Case.objects.get(resident=other).source == CaseSource.PCR_ROUND
    levels = zone_levels(building_ids=[building.pk, building2.pk])
    assert levels == {building.pk: ZoneLevel.PRECAUTION, building2.pk: ZoneLevel.SEALED}


def test_positive_needs_the_confirmation_tick_for_a_leader_too(client, frozen, make_user, building, residents):
    client.force_login(make_user(Role.BUILDING_LEADER, building))
    r = residents["b1"][1]
    body = {"resident": r.pk, "result": "positive", "date": frozen.isoformat(), "next": "/screening/antigen/"}
    resp = client.post("/screening/antigen/report/", body, follow=True)
    assert "确认结果为阳性" in resp.content.decode()
    assert not AntigenReport.objects.exists()
    resp = client.post("/screening/antigen/report/", {**body, "confirm_positive": "1"}, follow=True)
    assert "已临时居家管控" in resp.content.decode()
    assert AntigenReport.objects.get(resident=r).result == "positive"
    assert _controls(r).exists() and not Case.objects.exists()


def test_household_page_says_what_to_do_next(client, frozen, staff, neighbourhood, household, residents):
    control_services.hotline_update(actor=staff, neighbourhood=neighbourhood, hotline="021-65551234")
    token = account_services.household_link_token(
        account_services.household_link_issue(actor=staff, household=household)
    )
    me = residents["b1"][0]
    resp = client.post(
        f"/h/{token}/screening/antigen/",
        {"resident": me.pk, "result": "positive", "confirm_positive": "1"},
        follow=True,
    )
    page = resp.content.decode()
    assert resp.redirect_chain[-1][0].endswith("#antigen-next")
    for text in ("抗原阳性待核酸复核", "全家留在家中", "居委会会打电话给您", "tel:021-65551234", "核酸复核"):
        assert text in page, text
    # The household's health checks now include the temporary control.
    assert "核酸复核阴性后解除" in page

    # After a negative retest the page says so, and the instructions are gone.
    retest = Retest.objects.get(resident=me)
    retest.status = RetestStatus.NEGATIVE
    retest.resolved_at = retest.created_at
    retest.save()
    page = client.get(f"/h/{token}/").content.decode()
    assert "居家管控已解除" in page and "全家留在家中" not in page


@pytest.mark.parametrize("phone", ["021-6555 1234", "65551234"])
def test_hotline_is_a_checked_phone_number(frozen, staff, neighbourhood, phone):
    row = control_services.hotline_update(actor=staff, neighbourhood=neighbourhood, hotline=phone)
    assert row.hotline.replace("-", "").endswith("65551234")
    assert AuditEvent.objects.filter(action="policy.hotline").exists()
