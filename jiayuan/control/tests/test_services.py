"""Cases, contacts, quarantines, policies, releases, health checks and returnees."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from jiayuan.control import services
from jiayuan.control.choices import (
    CaseSource,
    CaseStatus,
    CaseType,
    ContactKind,
    LabResult,
    QuarantineKind,
    QuarantineReason,
    QuarantineStatus,
    RiskLevel,
    Slot,
    Transport,
)
from jiayuan.control.models import Case, CaseEvent, HealthCheck, QuarantinePolicy, ZoneSettings
from jiayuan.control.policies import PRESETS
from jiayuan.control.tests.conftest import TODAY, at
from jiayuan.core.models import AuditEvent


def _case(resident, days_ago=1, **kw):
    kw.setdefault("source", CaseSource.PCR_ROUND)
    return services.case_record(actor=None, resident=resident, detected_on=TODAY - dt.timedelta(days=days_ago), **kw)


# --- Cases -----------------------------------------------------------------------------------


def test_case_record_is_idempotent_for_an_open_case(frozen, resident):
    first = _case(resident, days_ago=2)
    again = _case(resident, days_ago=1, type=CaseType.CONFIRMED)
    assert again.pk == first.pk
    again.refresh_from_db()
    assert again.detected_on == TODAY - dt.timedelta(days=2)  # the earliest detection stays
    assert again.type == CaseType.CONFIRMED
    assert Case.objects.count() == 1
    assert AuditEvent.objects.filter(action="case.create").count() == 1
    assert AuditEvent.objects.filter(action="case.update").count() == 1


def test_case_rejects_future_date_and_bad_source(frozen, resident):
    with pytest.raises(ValidationError) as exc:
        services.case_record(actor=None, resident=resident, detected_on=TODAY + dt.timedelta(days=1), source="x")
    assert set(exc.value.message_dict) == {"detected_on", "source"}
    assert "不能晚于今天" in exc.value.message_dict["detected_on"][0]


def test_case_walks_its_statuses_with_a_dated_event_each(frozen, head, resident):
    case = _case(resident, days_ago=3)
    services.case_transition(
        actor=head, case=case, to_status=CaseStatus.MAKESHIFT_HOSPITAL, on=TODAY - dt.timedelta(days=2)
    )
    services.case_transition(actor=head, case=case, to_status=CaseStatus.RECOVERED, on=TODAY - dt.timedelta(days=1))
    services.case_transition(actor=head, case=case, to_status=CaseStatus.RELEASED)
    steps = list(CaseEvent.objects.filter(case=case).values_list("from_status", "to_status", "on"))
    assert steps == [
        ("", CaseStatus.AT_HOME, TODAY - dt.timedelta(days=3)),
        (CaseStatus.AT_HOME, CaseStatus.MAKESHIFT_HOSPITAL, TODAY - dt.timedelta(days=2)),
        (CaseStatus.MAKESHIFT_HOSPITAL, CaseStatus.RECOVERED, TODAY - dt.timedelta(days=1)),
        (CaseStatus.RECOVERED, CaseStatus.RELEASED, TODAY),
    ]
    assert AuditEvent.objects.filter(action="case.transition").count() == 3
    # A released case is closed: a new positive opens a new case.
    second = _case(resident, days_ago=0)
    assert second.pk != case.pk


def test_invalid_transition_is_refused_in_chinese(frozen, head, resident):
    case = _case(resident)
    with pytest.raises(ValidationError) as exc:
        services.case_transition(actor=head, case=case, to_status=CaseStatus.RELEASED)
    assert "不能变更为「已解除管理」" in exc.value.message_dict["to_status"][0]
    with pytest.raises(ValidationError) as exc:
        services.case_transition(actor=head, case=case, to_status=CaseStatus.HOSPITAL, on=TODAY - dt.timedelta(days=5))
    assert "不能早于" in exc.value.message_dict["on"][0]


def test_opening_a_case_transfers_the_residents_quarantine(frozen, resident):
    q = services.quarantine_start(actor=None, reason=QuarantineReason.RETURNEE_RISK_AREA, resident=resident)
    _case(resident)
    q.refresh_from_db()
    assert q.status == QuarantineStatus.TRANSFERRED
    assert AuditEvent.objects.filter(action="quarantine.transfer").count() == 1


# --- Contacts and quarantine -----------------------------------------------------------------


def test_contact_of_a_case_gets_a_quarantine_by_the_2022_policy(frozen, resident, resident2):
    case = _case(resident)
    contact = services.contact_add(actor=None, case=case, kind=ContactKind.CLOSE, resident=resident2)
    q = contact.quarantines.get()
    assert (q.kind, q.days, q.followup_kind, q.followup_days) == (
        QuarantineKind.CENTRALISED,
        7,
        QuarantineKind.HOME_MONITORING,
        3,
    )
    assert q.planned_end == TODAY + dt.timedelta(days=10)
    assert q.kind_on(TODAY + dt.timedelta(days=6)) == QuarantineKind.CENTRALISED
    assert q.kind_on(TODAY + dt.timedelta(days=7)) == QuarantineKind.HOME_MONITORING
    assert q.reason == QuarantineReason.CLOSE_CONTACT


def test_outsider_contact_keeps_a_masked_phone_only_on_screen(frozen, resident):
    case = _case(resident)
    contact = services.contact_add(
        actor=None, case=case, kind=ContactKind.SECONDARY, name="外卖员陈", phone="13912345678"
    )
    assert contact.phone_masked == "139****5678"
    assert contact.quarantines.get().reason == QuarantineReason.SECONDARY_CONTACT
    with pytest.raises(ValidationError) as exc:
        services.contact_add(actor=None, case=case, kind=ContactKind.CLOSE)
    assert "name" in exc.value.message_dict


def test_presets_ship_2020_and_2022_and_the_policy_applies(frozen, head, neighbourhood, resident):
    assert set(PRESETS) == {"shanghai_2020", "shanghai_2022"}
    services.policy_apply_preset(actor=head, neighbourhood=neighbourhood, preset="shanghai_2020")
    policy = QuarantinePolicy.objects.get(neighbourhood=neighbourhood, reason=QuarantineReason.RETURNEE_RISK_AREA)
    assert (policy.kind, policy.days, policy.followup_kind) == (QuarantineKind.HOME, 14, "")
    abroad = QuarantinePolicy.objects.get(neighbourhood=neighbourhood, reason=QuarantineReason.ARRIVAL_ABROAD)
    assert (abroad.kind, abroad.days) == (QuarantineKind.CENTRALISED, 14)
    assert ZoneSettings.objects.get(neighbourhood=neighbourhood).preset == "shanghai_2020"
    q = services.quarantine_start(actor=None, reason=QuarantineReason.RETURNEE_RISK_AREA, resident=resident)
    assert q.planned_end == TODAY + dt.timedelta(days=14)
    services.policy_apply_preset(actor=head, neighbourhood=neighbourhood, preset="shanghai_2022")
    close = QuarantinePolicy.objects.get(neighbourhood=neighbourhood, reason=QuarantineReason.CLOSE_CONTACT)
    assert close.summary.startswith("7天集中隔离 + 3天居家健康监测")
    q.refresh_from_db()
    assert q.planned_end == TODAY + dt.timedelta(days=14)  # started under 2020 terms, keeps them


def test_policy_update_validates_and_is_audited(frozen, head, neighbourhood):
    row = services.policy_update(
        actor=head,
        neighbourhood=neighbourhood,
        reason=QuarantineReason.OTHER,
        kind=QuarantineKind.HOME,
        days=5,
        test_days="1，5",
    )
    assert row.test_days == [1, 5]
    assert AuditEvent.objects.filter(action="policy.update").exists()
    with pytest.raises(ValidationError) as exc:
        services.policy_update(
            actor=head,
            neighbourhood=neighbourhood,
            reason=QuarantineReason.OTHER,
            kind=QuarantineKind.HOME,
            days=5,
            test_days="9",
        )
    assert "test_days" in exc.value.message_dict


def test_release_on_time_needs_the_term_and_the_negative_tests(frozen, head, resident):
    q = services.quarantine_start(actor=head, reason=QuarantineReason.RETURNEE_RISK_AREA, resident=resident)
    assert q.test_days == [1, 4, 7]
    with pytest.raises(ValidationError) as exc:
        services.quarantine_release(actor=head, quarantine=q)
    assert "未满隔离期" in exc.value.messages[0]
    frozen.move_to(at(TODAY + dt.timedelta(days=7)), tick=False)
    services.quarantine_test_record(actor=head, quarantine=q, on=TODAY, result=LabResult.NEGATIVE)
    services.quarantine_test_record(actor=head, quarantine=q, on=TODAY + dt.timedelta(days=3))
    with pytest.raises(ValidationError) as exc:
        services.quarantine_release(actor=head, quarantine=q)
    assert exc.value.messages == ["缺少第 7 天(04-26)核酸阴性结果"]
    services.quarantine_test_record(actor=head, quarantine=q, on=TODAY + dt.timedelta(days=6))
    services.quarantine_release(actor=head, quarantine=q)
    q.refresh_from_db()
    assert (q.status, q.early_release, q.ended_on) == (QuarantineStatus.RELEASED, False, TODAY + dt.timedelta(days=7))
    assert AuditEvent.objects.filter(action="quarantine.release").count() == 1


def test_early_release_needs_a_reason_and_is_audited(frozen, head, resident):
    q = services.quarantine_start(actor=head, reason=QuarantineReason.RETURNEE_RISK_AREA, resident=resident)
    with pytest.raises(ValidationError) as exc:
        services.quarantine_release(actor=head, quarantine=q, early=True, reason="")
    assert exc.value.message_dict == {"reason": ["提前解除必须填写原因"]}
    services.quarantine_release(actor=head, quarantine=q, early=True, reason="区疾控通知调整为低风险")
    q.refresh_from_db()
    assert q.status == QuarantineStatus.RELEASED and q.early_release
    event = AuditEvent.objects.get(action="quarantine.release_early")
    assert event.changes["reason"] == "区疾控通知调整为低风险"
    with pytest.raises(ValidationError):
        services.quarantine_release(actor=head, quarantine=q, early=True, reason="again")


# --- Health checks ----------------------------------------------------------------------------


def test_health_check_fever_or_symptom_raises_an_alert(frozen, resident):
    q = services.quarantine_start(actor=None, reason=QuarantineReason.RETURNEE_RISK_AREA, resident=resident)
    normal, created = services.health_check_record(
        actor=None, quarantine=q, on=TODAY, slot=Slot.MORNING, temperature="36.6"
    )
    assert created and not normal.alert
    fever, _ = services.health_check_record(actor=None, quarantine=q, on=TODAY, slot=Slot.AFTERNOON, temperature="37.3")
    assert fever.alert
    corrected, created = services.health_check_record(
        actor=None, resident=resident, on=TODAY, slot=Slot.MORNING, temperature=36.5, symptoms=["cough"]
    )
    assert not created and corrected.pk == normal.pk and corrected.alert
    assert corrected.quarantine_id == q.pk
    assert HealthCheck.objects.count() == 2


def test_health_check_validates_temperature_slot_and_date(frozen, resident):
    with pytest.raises(ValidationError) as exc:
        services.health_check_record(
            actor=None,
            resident=resident,
            on=TODAY + dt.timedelta(days=1),
            slot="night",
            temperature="hot",
            symptoms=["x"],
        )
    assert set(exc.value.message_dict) == {"on", "slot", "temperature", "symptoms"}
    with pytest.raises(ValidationError) as exc:
        services.health_check_record(actor=None, resident=resident, on=TODAY, slot=Slot.MORNING, temperature="45")
    assert "34.0 至 43.0" in exc.value.message_dict["temperature"][0]


def test_missing_checks_today_and_alerts_selectors(frozen, head, resident, resident2):
    from jiayuan.control import selectors

    q1 = services.quarantine_start(actor=None, reason=QuarantineReason.RETURNEE_RISK_AREA, resident=resident)
    services.quarantine_start(actor=None, reason=QuarantineReason.ARRIVAL_ABROAD, resident=resident2)
    services.health_check_record(actor=None, quarantine=q1, on=TODAY, slot=Slot.MORNING, temperature=Decimal("38.1"))
    services.health_check_record(actor=None, quarantine=q1, on=TODAY, slot=Slot.AFTERNOON, temperature=Decimal("36.8"))
    missing = selectors.checks_due(user=head, missing_only=True)
    assert [r["quarantine"].resident_id for r in missing] == [resident2.pk]
    assert missing[0]["missing"] == [Slot.MORNING, Slot.AFTERNOON]
    alerts = list(selectors.health_alerts(user=head))
    assert [a.temperature for a in alerts] == [Decimal("38.1")]


# --- Returnees -------------------------------------------------------------------------------


def test_returnee_quarantine_follows_the_risk_of_origin(frozen, head, resident, resident2, household, make_resident):
    from jiayuan.control import selectors

    r1 = services.returnee_register(
        actor=head,
        resident=resident,
        origin="吉林省长春市",
        origin_risk=RiskLevel.HIGH,
        arrival_on=TODAY - dt.timedelta(days=5),
        transport=Transport.TRAIN,
        transport_detail="G1234",
        commitment_signed=True,
    )
    assert r1.quarantine.reason == QuarantineReason.RETURNEE_RISK_AREA
    assert r1.quarantine.kind == QuarantineKind.HOME
    assert r1.quarantine.planned_end == TODAY + dt.timedelta(days=2)
    r2 = services.returnee_register(
        actor=head,
        resident=resident2,
        origin="新加坡",
        origin_risk=RiskLevel.ABROAD,
        arrival_on=TODAY,
        transport=Transport.PLANE,
    )
    assert r2.quarantine.kind == QuarantineKind.CENTRALISED
    low = make_resident(household, name="赵低")
    r3 = services.returnee_register(
        actor=head, resident=low, origin="杭州", origin_risk=RiskLevel.LOW, arrival_on=TODAY, transport=Transport.CAR
    )
    assert r3.quarantine.kind == QuarantineKind.HOME_MONITORING
    due = list(selectors.returnee_list(user=head, due_within=3))
    assert due == [r1]
    with pytest.raises(ValidationError) as exc:
        services.returnee_register(
            actor=head, resident=low, origin="", origin_risk="x", arrival_on=TODAY, transport="boat"
        )
    assert set(exc.value.message_dict) == {"origin", "origin_risk", "transport"}
