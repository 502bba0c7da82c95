"""The volunteers API: registry, teams, shifts, assignment through the health gate (each 409
code, and that it lifts), overlap, full, check-in/out with hours across midnight, scope."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from jiayuan.control import services as control
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.screening import services as screening
from jiayuan.volunteers.models import ShiftAssignment, Volunteer
from jiayuan.volunteers.tests.conftest import bearer

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 4, 10, 6, 0, tzinfo=dt.UTC)  # 14:00 in Shanghai


def post(client, user, url, body):
    return client.post(f"/api/v1{url}", body, content_type="application/json", **bearer(user))


def test_create_resident_and_outsider_volunteers(client, head, household, make_resident):
    resident = make_resident(household, name="李四")
    r = post(client, head, "/volunteers", {"resident": resident.pk, "skills": ["medical"], "party_member": True})
    assert r.status_code == 201, r.content
    assert r.json()["status"] == "active" and r.json()["resident"] == resident.pk
    r = post(
        client,
        head,
        "/volunteers",
        {"name": "王五", "phone": "13912345678", "dual_registration_org": "区税务局", "idempotency_key": "k1"},
    )
    assert r.status_code == 201 and r.json()["outsider"] is True
    assert r.json()["phone"] != "13912345678" and "*" in r.json()["phone"]
    again = post(client, head, "/volunteers", {"name": "王五", "phone": "13912345678", "idempotency_key": "k1"})
    assert again.json()["id"] == r.json()["id"]
    assert Volunteer.objects.filter(name="王五").count() == 1
    v = Volunteer.objects.get(name="王五")
    assert v.phone == "13912345678" and v.dual_registration_org == "区税务局"
    bad = post(client, head, "/volunteers", {"name": "赵六", "phone": "123"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "phone"
    dup = post(client, head, "/volunteers", {"resident": resident.pk})
    assert dup.status_code == 422
    assert AuditEvent.objects.filter(action="volunteer.create").count() == 2


def test_list_filters_detail_and_scope(client, head, team, make_volunteer, household, other_neighbourhood, make_user):
    a = make_volunteer(household, team=team)
    make_volunteer(status="paused")
    r = client.get("/api/v1/volunteers", **bearer(head))
    assert r.json()["count"] == 2
    r = client.get(f"/api/v1/volunteers?team={team.pk}", **bearer(head))
    assert [row["id"] for row in r.json()["items"]] == [a.pk]
    r = client.get("/api/v1/volunteers?status=paused", **bearer(head))
    assert r.json()["count"] == 1
    assert client.get("/api/v1/volunteers?status=nope", **bearer(head)).status_code == 422
    detail = client.get(f"/api/v1/volunteers/{a.pk}", **bearer(head)).json()
    assert detail["hours"] == "0.00" and detail["shifts_done"] == 0 and detail["teams"] == [team.pk]
    outsider = make_user(Role.COMMITTEE_HEAD, other_neighbourhood)
    assert client.get(f"/api/v1/volunteers/{a.pk}", **bearer(outsider)).status_code == 404
    assert client.get("/api/v1/volunteers", **bearer(outsider)).json()["count"] == 0
    assert post(client, outsider, f"/teams/{team.pk}/members", {"volunteer": a.pk}).status_code == 404


def test_team_member_and_shift_create(client, head, make_volunteer, household):
    r = post(client, head, "/teams", {"name": "核酸保障队", "kind": "testing", "requires_antigen_today": True})
    assert r.status_code == 201 and r.json()["requires_antigen_today"] is True
    team_id = r.json()["id"]
    assert post(client, head, "/teams", {"name": "x", "kind": "bogus"}).status_code == 422
    v = make_volunteer(household)
    r = post(client, head, f"/teams/{team_id}/members", {"volunteer": v.pk, "is_leader": True})
    assert r.status_code == 201 and r.json()["is_leader"] is True
    r = post(
        client,
        head,
        "/shifts",
        {"team": team_id, "date": "2026-04-10", "start": "22:00", "end": "06:00", "place": "1号门", "needed": 2},
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["ends_at"].startswith("2026-04-11T06:00")
    assert post(client, head, "/shifts", {"team": team_id, "date": "x", "start": "8", "needed": 0}).status_code == 422


@time_machine.travel(NOON, tick=False)
def test_assign_full_overlap_and_inactive(client, head, team, make_shift, make_volunteer, household, household2):
    shift = make_shift(start=dt.time(13), end=dt.time(17), needed=1)
    a = make_volunteer(household, team=team)
    b = make_volunteer(household2, team=team)
    r = post(client, head, f"/shifts/{shift.pk}/assign", {"volunteer": a.pk})
    assert r.status_code == 201 and r.json()["status"] == "assigned"
    r = post(client, head, f"/shifts/{shift.pk}/assign", {"volunteer": b.pk})
    assert r.status_code == 409 and r.json()["code"] == "full"
    other = make_shift(start=dt.time(16), end=dt.time(20), needed=3)
    r = post(client, head, f"/shifts/{other.pk}/assign", {"volunteer": a.pk})
    assert r.status_code == 409 and r.json()["code"] == "overlap"
    paused = make_volunteer(status="paused", team=team)
    r = post(client, head, f"/shifts/{other.pk}/assign", {"volunteer": paused.pk})
    assert r.status_code == 409 and r.json()["code"] == "inactive"
    # Back to back is not an overlap.
    later = make_shift(start=dt.time(17), end=dt.time(21), needed=3)
    assert post(client, head, f"/shifts/{later.pk}/assign", {"volunteer": a.pk}).status_code == 201


@time_machine.travel(NOON, tick=False)
def test_quarantine_refuses_then_lifts(client, head, team, make_shift, make_volunteer, household):
    shift = make_shift(start=dt.time(15), end=dt.time(18))
    v = make_volunteer(household, team=team)
    q = control.quarantine_start(actor=head, reason="close_contact", resident=v.resident, kind="home")
    r = post(client, head, f"/shifts/{shift.pk}/assign", {"volunteer": v.pk})
    assert r.status_code == 409 and r.json()["code"] == "quarantined"
    assert "隔离" in r.json()["detail"]
    control.quarantine_release(actor=head, quarantine=q, early=True, reason="解除")
    assert post(client, head, f"/shifts/{shift.pk}/assign", {"volunteer": v.pk}).status_code == 201


@time_machine.travel(NOON, tick=False)
def test_sealed_building_refuses_outside_it_then_lifts(
    client, head, team, make_shift, make_volunteer, household, building, building2
):
    v = make_volunteer(household, team=team)
    override = control.zone_override_set(
        actor=head, level="sealed", reason="封控", expires_at=timezone.now() + dt.timedelta(days=3), building=building
    )
    gate_shift = make_shift(start=dt.time(15), end=dt.time(16))
    r = post(client, head, f"/shifts/{gate_shift.pk}/assign", {"volunteer": v.pk})
    assert r.status_code == 409 and r.json()["code"] == "sealed_building"
    assert "封控" in r.json()["detail"]
    inside = make_shift(start=dt.time(16), end=dt.time(17), building=building, place_kind="building")
    assert post(client, head, f"/shifts/{inside.pk}/assign", {"volunteer": v.pk}).status_code == 201
    other_building = make_shift(start=dt.time(18), end=dt.time(19), building=building2)
    assert post(client, head, f"/shifts/{other_building.pk}/assign", {"volunteer": v.pk}).status_code == 409
    control.zone_override_end(actor=head, override=override)
    assert post(client, head, f"/shifts/{gate_shift.pk}/assign", {"volunteer": v.pk}).status_code == 201


@time_machine.travel(NOON, tick=False)
def test_positive_case_refuses(client, head, team, make_shift, make_volunteer, household):
    v = make_volunteer(household, team=team)
    control.case_record(actor=head, resident=v.resident, detected_on=timezone.localdate(), source="pcr_round")
    shift = make_shift(start=dt.time(15), end=dt.time(16))
    r = post(client, head, f"/shifts/{shift.pk}/assign", {"volunteer": v.pk})
    assert r.status_code == 409 and r.json()["code"] == "positive"


@time_machine.travel(NOON, tick=False)
def test_antigen_positive_awaiting_retest_refuses(client, head, team, make_shift, make_volunteer, household):
    v = make_volunteer(household, team=team)
    screening.antigen_report_submit(actor=head, resident=v.resident, date=timezone.localdate(), result="positive")
    shift = make_shift(start=dt.time(15), end=dt.time(16))
    r = post(client, head, f"/shifts/{shift.pk}/assign", {"volunteer": v.pk})
    assert r.status_code == 409 and r.json()["code"] == "positive"


@time_machine.travel(NOON, tick=False)
def test_antigen_today_required_by_the_team(client, head, neighbourhood, make_shift, make_volunteer, household):
    from jiayuan.volunteers import services

    testing = services.team_create(
        actor=head, neighbourhood=neighbourhood, name="核酸保障", kind="testing", requires_antigen_today=True
    )
    v = make_volunteer(household, team=testing)
    shift = make_shift(start=dt.time(15), end=dt.time(16), t=testing)
    tomorrow = make_shift(day=timezone.localdate() + dt.timedelta(days=1), t=testing)
    # A shift of another day can be planned; today's needs today's negative antigen.
    assert post(client, head, f"/shifts/{tomorrow.pk}/assign", {"volunteer": v.pk}).status_code == 201
    r = post(client, head, f"/shifts/{shift.pk}/assign", {"volunteer": v.pk})
    assert r.status_code == 409 and r.json()["code"] == "no_antigen_today"
    screening.antigen_report_submit(actor=head, resident=v.resident, date=timezone.localdate(), result="negative")
    assert post(client, head, f"/shifts/{shift.pk}/assign", {"volunteer": v.pk}).status_code == 201


@time_machine.travel(NOON, tick=False)
def test_an_outsider_checks_in_once_someone_has_seen_their_antigen(
    client, head, neighbourhood, make_shift, make_volunteer, make_user, building
):
    """An outsider has no household link to report an antigen through: they can be put on today's
    shift of a team that asks for one, and whoever checks them in looks at their test and says
    so; they cannot say it for themselves."""
    from jiayuan.volunteers import services

    testing = services.team_create(
        actor=head, neighbourhood=neighbourhood, name="核酸保障", kind="testing", requires_antigen_today=True
    )
    outsider = make_volunteer(team=testing, name="外来老李")
    assert outsider.resident_id is None
    shift = make_shift(start=dt.time(13), end=dt.time(16), t=testing)
    assert post(client, head, f"/shifts/{shift.pk}/assign", {"volunteer": outsider.pk}).status_code == 201
    r = post(client, head, f"/shifts/{shift.pk}/check-in", {"volunteer": outsider.pk})
    assert r.status_code == 409 and r.json()["code"] == "no_antigen_today"
    assert "不是本社区居民" in r.json()["detail"]
    # The volunteer themselves cannot vouch for their own test.
    own = make_user(Role.VOLUNTEER, building, username="laoli")
    services.volunteer_link_user(actor=None, volunteer=outsider, user=own)
    r = post(client, own, f"/shifts/{shift.pk}/check-in", {"volunteer": outsider.pk, "antigen_seen": True})
    assert r.status_code == 409 and r.json()["code"] == "no_antigen_today"
    r = post(client, head, f"/shifts/{shift.pk}/check-in", {"volunteer": outsider.pk, "antigen_seen": True})
    assert r.status_code == 200 and r.json()["status"] == "checked_in"
    event = AuditEvent.objects.get(action="volunteer.check_in")
    assert event.actor_id == head.pk and event.changes["antigen_seen"] is True


def test_check_in_and_out_across_midnight(client, head, team, make_shift, make_volunteer, household):
    day = dt.date(2026, 4, 10)
    v = make_volunteer(household, team=team)
    with time_machine.travel(dt.datetime(2026, 4, 10, 13, 0, tzinfo=dt.UTC), tick=False):  # 21:00 local
        shift = make_shift(day=day, start=dt.time(22), end=dt.time(6))
        assert post(client, head, f"/shifts/{shift.pk}/assign", {"volunteer": v.pk}).status_code == 201
    with time_machine.travel(dt.datetime(2026, 4, 10, 14, 5, tzinfo=dt.UTC), tick=False):  # 22:05
        r = post(client, head, f"/shifts/{shift.pk}/check-in", {"volunteer": v.pk, "at": "2026-04-10T22:00:00+08:00"})
        assert r.status_code == 200, r.content
        assert r.json()["status"] == "checked_in"
    with time_machine.travel(dt.datetime(2026, 4, 10, 22, 40, tzinfo=dt.UTC), tick=False):  # 06:40 next day
        r = post(client, head, f"/shifts/{shift.pk}/check-out", {"volunteer": v.pk, "idempotency_key": "o1"})
        assert r.status_code == 200 and r.json()["hours"] == "8.67"
        again = post(client, head, f"/shifts/{shift.pk}/check-out", {"volunteer": v.pk, "idempotency_key": "o1"})
        assert again.json() == r.json()
    detail = client.get(f"/api/v1/volunteers/{v.pk}", **bearer(head)).json()
    assert detail["hours"] == "8.67" and detail["shifts_done"] == 1


@time_machine.travel(NOON, tick=False)
def test_check_in_is_gated_and_check_out_needs_check_in(client, head, team, make_shift, make_volunteer, household):
    shift = make_shift(start=dt.time(13), end=dt.time(17))
    v = make_volunteer(household, team=team)
    r = post(client, head, f"/shifts/{shift.pk}/check-out", {"volunteer": v.pk})
    assert r.status_code == 409 and r.json()["code"] == "not_checked_in"
    assert post(client, head, f"/shifts/{shift.pk}/assign", {"volunteer": v.pk}).status_code == 201
    control.quarantine_start(actor=head, reason="close_contact", resident=v.resident, kind="home")
    r = post(client, head, f"/shifts/{shift.pk}/check-in", {"volunteer": v.pk})
    assert r.status_code == 409 and r.json()["code"] == "quarantined"
    assert ShiftAssignment.objects.get(shift=shift, volunteer=v).status == "assigned"


@time_machine.travel(NOON, tick=False)
def test_leader_assigns_own_team_volunteer_checks_in_self_others_403(
    client, head, team, make_shift, make_volunteer, household, household2, make_user, building
):
    leader_user = make_user(Role.VOLUNTEER, building)
    leader = make_volunteer(household, team=team, leader=True)
    Volunteer.objects.filter(pk=leader.pk).update(user=leader_user)
    member = make_volunteer(household2, team=team)
    stranger = make_volunteer()
    shift = make_shift(start=dt.time(13), end=dt.time(17), needed=3)
    assert post(client, leader_user, f"/shifts/{shift.pk}/assign", {"volunteer": member.pk}).status_code == 201
    assert post(client, leader_user, f"/shifts/{shift.pk}/assign", {"volunteer": stranger.pk}).status_code == 404
    member_user = make_user(Role.VOLUNTEER, building)
    Volunteer.objects.filter(pk=member.pk).update(user=member_user)
    assert post(client, member_user, f"/shifts/{shift.pk}/assign", {"volunteer": member.pk}).status_code == 403
    assert post(client, member_user, f"/shifts/{shift.pk}/check-in", {"volunteer": member.pk}).status_code == 200
    assert post(client, member_user, f"/shifts/{shift.pk}/check-in", {"volunteer": leader.pk}).status_code == 404
    assert post(client, leader_user, f"/shifts/{shift.pk}/check-in", {"volunteer": leader.pk}).status_code == 200


@time_machine.travel(NOON, tick=False)
def test_walk_up_self_check_in_only_on_own_team(
    client, head, team, neighbourhood, make_shift, make_volunteer, make_user, building, household
):
    from jiayuan.volunteers import services

    user = make_user(Role.VOLUNTEER, building)
    v = make_volunteer(household, team=team)
    Volunteer.objects.filter(pk=v.pk).update(user=user)
    other = services.team_create(actor=head, neighbourhood=neighbourhood, name="消杀队", kind="disinfection")
    foreign = make_shift(start=dt.time(13), end=dt.time(17), t=other)
    r = post(client, user, f"/shifts/{foreign.pk}/check-in", {"volunteer": v.pk})
    assert r.status_code == 422 and not ShiftAssignment.objects.filter(shift=foreign).exists()
    own = make_shift(start=dt.time(13), end=dt.time(17))
    r = post(client, user, f"/shifts/{own.pk}/check-in", {"volunteer": v.pk})
    assert r.status_code == 200 and r.json()["status"] == "checked_in"
    assert ShiftAssignment.objects.get(shift=own).source == "claim"
