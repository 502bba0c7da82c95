"""The one-scan passage: every refusal reason and its lifting, fever, passes and their quota,
visitors (masked), vehicles, returnees at the gate, presence, retried scans stored once, audit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from jiayuan.control.models import Quarantine, Returnee
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Action
from jiayuan.gates import selectors, services
from jiayuan.gates.choices import Reason
from jiayuan.gates.models import GatePassage, GateSettings
from jiayuan.gates.tests.conftest import home_quarantine, zone
from jiayuan.people.choices import Presence

pytestmark = pytest.mark.django_db


def scan(gate, guard, resident_code, direction="out", **kw):
    """As the API does: the gate fetched afresh with its settings, then the passage."""
    gate = selectors.gate_get(user=guard, gate_id=gate.pk, action=Action.PASS_GATE)
    return services.passage_record(actor=guard, gate=gate, direction=direction, resident_code=resident_code, **kw)


def test_a_resident_of_a_precaution_building_goes_out(gate, guard, resident, code):
    outcome = scan(gate, guard, code(resident))
    assert outcome.allowed and outcome.reason is None and outcome.message.startswith("可以通行")
    row = GatePassage.objects.get()
    assert (row.resident_id, row.household_id, row.allowed, row.direction) == (
        resident.pk,
        resident.household_id,
        True,
        "out",
    )
    assert row.day == timezone.localdate()
    assert AuditEvent.objects.filter(action="gates.passage", object_id=str(row.pk)).exists()


def test_sealed_building_refused_then_lifted_when_the_zone_drops(gate, guard, resident, code, building):
    override = zone(building, "sealed")
    outcome = scan(gate, guard, code(resident))
    assert not outcome.allowed and outcome.reason == Reason.SEALED
    assert "封控区" in outcome.message and building.name in outcome.message
    # A refused passage is recorded too.
    assert GatePassage.objects.filter(allowed=False, reason="sealed").count() == 1
    override.ended_at = timezone.now()
    override.save()
    assert scan(gate, guard, code(resident)).allowed


def test_coming_in_to_a_sealed_building_is_allowed(gate, guard, resident, code, building):
    zone(building, "sealed")
    assert scan(gate, guard, code(resident), direction="in").allowed


def test_controlled_building_follows_the_settings(gate, guard, resident, code, building, neighbourhood, head):
    zone(building, "controlled")
    outcome = scan(gate, guard, code(resident))
    assert outcome.reason == Reason.CONTROLLED and "管控区" in outcome.message
    services.settings_update(actor=head, neighbourhood=neighbourhood, controlled_may_go_out=True)
    assert scan(gate, guard, code(resident)).allowed


def test_quarantine_refused_until_it_ends(gate, guard, resident, code, household):
    q = home_quarantine(household)
    outcome = scan(gate, guard, code(resident))
    assert outcome.reason == Reason.QUARANTINE and "居家隔离" in outcome.message
    Quarantine.objects.filter(pk=q.pk).update(status="released", ended_on=timezone.localdate())
    assert scan(gate, guard, code(resident)).allowed


def test_fever_is_refused_and_counted(gate, guard, resident, code):
    outcome = scan(gate, guard, code(resident), direction="in", temperature="37.3")
    assert outcome.reason == Reason.FEVER and "37.3" in outcome.message
    assert scan(gate, guard, code(resident), direction="in", temperature="37.2").allowed
    assert GatePassage.objects.filter(reason="fever").count() == 1


def test_bad_temperature_is_a_field_error(gate, guard, resident, code):
    with pytest.raises(ValidationError) as exc:
        scan(gate, guard, code(resident), temperature="47")
    assert "temperature" in exc.value.message_dict


def test_closed_gate_refuses_and_opening_lifts_it(gate, guard, resident, code, head):
    services.gate_set_state(actor=head, gate=gate, state="closed", note="合并出入口")
    gate.refresh_from_db()
    outcome = scan(gate, guard, code(resident))
    assert outcome.reason == Reason.GATE_CLOSED and "关闭" in outcome.message
    services.gate_set_state(actor=head, gate=gate, state="open")
    gate.refresh_from_db()
    assert scan(gate, guard, code(resident)).allowed
    assert [c.state for c in gate.changes.order_by("id")] == ["open", "closed", "open"]


def test_restricted_gates(gate, guard, resident, code, head, time_machine):
    services.gate_set_state(actor=head, gate=gate, state="restricted", restriction="vehicles_only")
    gate.refresh_from_db()
    assert scan(gate, guard, code(resident)).reason == Reason.GATE_CLOSED
    van = services.passage_record(
        actor=guard, gate=gate, direction="in", vehicle={"plate": "沪A 12345", "purpose": "supplies"}
    )
    assert van.allowed and van.passage.plate == "沪A12345"
    services.gate_set_state(
        actor=head, gate=gate, state="restricted", restriction="hours", open_from=dt.time(7), open_to=dt.time(19)
    )
    gate.refresh_from_db()
    time_machine.move_to(dt.datetime(2022, 4, 20, 6, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=False)
    outcome = scan(gate, guard, code(resident))
    assert outcome.reason == Reason.GATE_CLOSED and "07:00–19:00" in outcome.message
    time_machine.move_to(dt.datetime(2022, 4, 20, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=False)
    assert scan(gate, guard, code(resident)).allowed


def test_unknown_or_forged_code_is_a_field_error(gate, guard, resident, code):
    forged = code(resident)[:-1] + ("A" if code(resident)[-1] != "A" else "B")
    for text in (forged, "hello", ""):
        with pytest.raises(ValidationError):
            scan(gate, guard, text)
    assert not GatePassage.objects.exists()


def test_resident_of_another_neighbourhood_is_unknown(gate, guard, make_resident, other_neighbourhood, code):
    from jiayuan.places import services as places

    c = places.compound_create(actor=None, neighbourhood=other_neighbourhood, name="红御苑")
    b = places.building_create(actor=None, compound=c, number="9")
    h = places.household_create(actor=None, building=b, room="101")
    stranger = make_resident(h, name="李四")
    with pytest.raises(ValidationError):
        scan(gate, guard, code(stranger))


# --- Passes ------------------------------------------------------------------------------------


def test_pass_quota_then_new_period(gate, guard, resident, household, head, time_machine):
    time_machine.move_to(dt.datetime(2022, 4, 20, 9, tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=False)
    today = timezone.localdate()
    p = services.pass_issue(
        actor=head, household=household, valid_from=today, valid_to=today + dt.timedelta(days=9), period_days=2
    )
    first = scan(gate, guard, p.code)
    assert first.allowed and "还可外出 0 次" in first.message
    assert scan(gate, guard, p.code, direction="in").allowed  # coming back does not count
    second = scan(gate, guard, p.code)
    assert second.reason == Reason.PASS_QUOTA and "04-22" in second.message
    time_machine.move_to(dt.datetime(2022, 4, 22, 9, tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=False)
    assert scan(gate, guard, p.code).allowed
    p.refresh_from_db()
    assert (p.period_start, p.period_uses) == (dt.date(2022, 4, 22), 1)


def test_expired_or_revoked_pass_is_refused(gate, guard, resident, household, head):
    today = timezone.localdate()
    old = services.pass_issue(
        actor=head, household=household, valid_from=today - dt.timedelta(days=10), valid_to=today - dt.timedelta(days=1)
    )
    assert scan(gate, guard, old.code).reason == Reason.PASS_EXPIRED
    current = services.pass_issue(actor=head, household=household, valid_from=today, valid_to=today)
    services.pass_revoke(actor=head, pass_=current)
    assert scan(gate, guard, current.code).reason == Reason.PASS_EXPIRED


def test_pass_required_by_the_settings(gate, guard, resident, household, head, neighbourhood, code):
    services.settings_update(actor=head, neighbourhood=neighbourhood, pass_required=True)
    outcome = scan(gate, guard, code(resident))
    assert outcome.reason == Reason.PASS_EXPIRED and "没有有效的通行证" in outcome.message
    today = timezone.localdate()
    services.pass_issue(actor=head, household=household, valid_from=today, valid_to=today, quota=1)
    assert scan(gate, guard, code(resident)).allowed
    assert scan(gate, guard, code(resident)).reason == Reason.PASS_QUOTA


def test_a_sealed_household_does_not_use_up_its_pass(gate, guard, resident, household, head, building):
    today = timezone.localdate()
    p = services.pass_issue(actor=head, household=household, valid_from=today, valid_to=today)
    zone(building, "sealed")
    assert scan(gate, guard, p.code).reason == Reason.SEALED
    p.refresh_from_db()
    assert p.period_uses == 0


def test_work_pass_needs_the_employer(household, head):
    today = timezone.localdate()
    with pytest.raises(ValidationError) as exc:
        services.pass_issue(actor=head, household=household, kind="work", valid_from=today, valid_to=today)
    assert "employer" in exc.value.message_dict


# --- Visitors, vehicles ------------------------------------------------------------------------


def test_visitor_is_recorded_with_the_phone_encrypted_and_masked(gate, guard, household):
    outcome = services.passage_record(
        actor=guard,
        gate=gate,
        direction="in",
        visitor={"name": "赵医生", "phone": "139 1234 5678", "purpose": "上门送药", "host_household": household.pk},
        temperature="36.5",
    )
    assert outcome.allowed
    row = GatePassage.objects.get()
    assert row.visitor_phone == "13912345678" and row.who_masked == "赵** 139****5678"
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT visitor_phone FROM gates_gatepassage WHERE id = %s", [row.pk])
        assert "13912345678" not in cur.fetchone()[0]


def test_visitor_to_a_sealed_building_is_refused(gate, guard, household, building):
    zone(building, "sealed")
    outcome = services.passage_record(
        actor=guard,
        gate=gate,
        direction="in",
        visitor={"name": "赵医生", "phone": "13912345678", "purpose": "探亲", "host_household": household.pk},
    )
    assert outcome.reason == Reason.SEALED and "不能探访" in outcome.message


def test_visitor_fields_are_checked(gate, guard):
    with pytest.raises(ValidationError) as exc:
        services.passage_record(
            actor=guard, gate=gate, direction="in", visitor={"name": "", "phone": "123", "purpose": ""}
        )
    assert {"visitor.name", "visitor.phone", "visitor.purpose", "visitor.host_household"} <= set(exc.value.message_dict)


# --- Returnees and presence --------------------------------------------------------------------


def test_returnee_at_the_gate_becomes_a_control_returnee_with_quarantine(gate, guard, resident):
    returnee, outcome = services.returnee_at_gate(
        actor=guard,
        gate=gate,
        resident=resident,
        origin="吉林长春",
        origin_risk="high",
        transport="train",
        transport_detail="G1234",
        commitment_signed=True,
        temperature="36.6",
    )
    assert Returnee.objects.get().pk == returnee.pk
    assert returnee.quarantine is not None and returnee.quarantine.kind == "home"
    assert outcome.allowed and outcome.passage.returnee and outcome.passage.direction == "in"


def test_returnee_must_sign_the_commitment(gate, guard, resident):
    with pytest.raises(ValidationError):
        services.returnee_at_gate(
            actor=guard, gate=gate, resident=resident, origin="北京", origin_risk="low", transport="car"
        )
    assert not Returnee.objects.exists()


def test_presence_follows_out_for_days_and_back(gate, guard, resident, code, neighbourhood, head):
    scan(gate, guard, code(resident))
    resident.refresh_from_db()
    assert resident.presence == Presence.PRESENT  # a short trip changes nothing
    scan(gate, guard, code(resident), away=True)
    resident.refresh_from_db()
    assert resident.presence == Presence.AWAY
    scan(gate, guard, code(resident), direction="in")
    resident.refresh_from_db()
    assert resident.presence == Presence.PRESENT
    services.settings_update(actor=head, neighbourhood=neighbourhood, presence_follows=False)
    scan(gate, guard, code(resident), away=True)
    resident.refresh_from_db()
    assert resident.presence == Presence.PRESENT
    assert GateSettings.objects.get().presence_follows is False


# --- Retries -----------------------------------------------------------------------------------


def test_retried_scan_is_stored_once(gate, guard, resident, household, head):
    today = timezone.localdate()
    p = services.pass_issue(actor=head, household=household, valid_from=today, valid_to=today, quota=2)
    first = scan(gate, guard, p.code, idempotency_key="scan-1")
    again = scan(gate, guard, p.code, idempotency_key="scan-1")
    assert again.passage.pk == first.passage.pk and again.allowed
    assert GatePassage.objects.count() == 1
    p.refresh_from_db()
    assert p.period_uses == 1
