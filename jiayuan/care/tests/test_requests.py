"""Requests: priority per tag and zone, the lifecycle and its guards, time limits and overdue
(time frozen), assignment, scope and audit."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from jiayuan.care import selectors, services
from jiayuan.care.choices import Category, Priority, Source, Status, Urgency
from jiayuan.care.models import RequestEvent
from jiayuan.control import services as control_services
from jiayuan.control.choices import ZoneLevel
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 4, 10, 9, 0, tzinfo=dt.UTC)


def _raise(household, resident=None, urgency=Urgency.ROUTINE, category=Category.SHORTAGE, actor=None, **kw):
    req, _created = services.request_create(
        actor=actor or "household-link:1",
        household=household,
        resident=resident,
        category=category,
        urgency=urgency,
        description="米吃完了",
        **kw,
    )
    return req


@pytest.mark.parametrize("tag", ["dialysis", "pregnant", "bedridden", "elderly_alone", "elderly_no_family"])
def test_each_priority_tag_raises_a_routine_request_one_step(make_resident, household, tag):
    tagged = make_resident(household, name="李伯伯", tags=[tag])
    plain = make_resident(household, name="李小明", tags=["party_member"])
    assert _raise(household, plain).priority == Priority.LOW
    req = _raise(household, tagged)
    assert req.priority == Priority.NORMAL
    assert req.priority_reasons == [tag]
    assert _raise(household, tagged, urgency=Urgency.TODAY).priority == Priority.HIGH
    assert _raise(household, plain, urgency=Urgency.EMERGENCY).priority == Priority.HIGH


def test_a_sealed_building_raises_priority_and_adds_to_a_tag(make_resident, household, household2, building, head):
    tagged = make_resident(household, name="赵奶奶", tags=["elderly_alone"])
    control_services.zone_override_set(
        actor=head,
        level=ZoneLevel.SEALED,
        reason="阳性",
        expires_at=timezone.now() + dt.timedelta(days=7),
        building=building,
    )
    assert _raise(household).priority == Priority.NORMAL
    req = _raise(household, tagged)
    assert req.priority == Priority.HIGH and req.priority_reasons == ["elderly_alone", "sealed"]
    # The other building is not sealed.
    assert _raise(household2).priority == Priority.LOW


def test_the_resident_must_belong_to_the_household(make_resident, household, household2):
    other = make_resident(household2, name="外人")
    with pytest.raises(ValidationError):
        _raise(household, other)


def test_time_limits_follow_the_neighbourhood_settings_and_overdue_shows(household, head, staff):
    s = services.settings_for(household.neighbourhood_id)
    s.accept_emergency_minutes = 30
    s.done_emergency_hours = 4
    s.save()
    with time_machine.travel(T0, tick=False):
        req = _raise(household, urgency=Urgency.EMERGENCY)
        assert req.due_at == T0 + dt.timedelta(minutes=30)
        assert req.done_due_at == T0 + dt.timedelta(hours=4)
    with time_machine.travel(T0 + dt.timedelta(minutes=29), tick=False):
        assert not req.is_overdue
        assert selectors.request_list(user=head, overdue=True).count() == 0
    with time_machine.travel(T0 + dt.timedelta(minutes=31), tick=False):
        assert req.is_overdue
        assert list(selectors.request_list(user=head, overdue=True)) == [req]
        services.request_transition(actor=staff, request=req, status=Status.ACCEPTED)
        # Accepted late, but now the time limit to finish applies.
        assert not req.is_overdue
        assert selectors.request_list(user=head, overdue=True).count() == 0
    with time_machine.travel(T0 + dt.timedelta(hours=4, minutes=1), tick=False):
        assert selectors.request_list(user=head, overdue=True).count() == 1
        assert selectors.request_list(user=staff, overdue=True, mine=True).count() == 1
        assert selectors.request_list(user=head, overdue=True, mine=True).count() == 0


def test_the_whole_lifecycle_is_dated_and_audited(household, staff):
    with time_machine.travel(T0, tick=False):
        req = _raise(household)
    steps = [Status.ACCEPTED, Status.IN_PROGRESS, Status.DONE]
    for n, status in enumerate(steps, start=1):
        with time_machine.travel(T0 + dt.timedelta(hours=n), tick=False):
            services.request_transition(actor=staff, request=req, status=status, note=f"第{n}步")
    with time_machine.travel(T0 + dt.timedelta(hours=5), tick=False):
        services.request_transition(actor="household-link:1", request=req, status=Status.CONFIRMED, by_household=True)
    req.refresh_from_db()
    assert req.status == Status.CONFIRMED
    assert req.accepted_at == T0 + dt.timedelta(hours=1)
    assert req.started_at == T0 + dt.timedelta(hours=2)
    assert req.done_at == T0 + dt.timedelta(hours=3)
    assert req.confirmed_at == T0 + dt.timedelta(hours=5)
    assert req.assignee == staff  # who accepted it owns it
    assert list(RequestEvent.objects.filter(request=req).values_list("status", flat=True)) == [
        "new",
        "accepted",
        "in_progress",
        "done",
        "confirmed",
    ]
    actions = set(AuditEvent.objects.filter(object_id=str(req.pk)).values_list("action", flat=True))
    assert {
        "care.request_create",
        "care.request_accept",
        "care.request_start",
        "care.request_done",
        "care.request_confirm",
    } <= actions


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        ([], Status.DONE),
        ([], Status.CONFIRMED),
        ([Status.ACCEPTED], Status.CONFIRMED),
        ([Status.ACCEPTED, Status.DONE], Status.IN_PROGRESS),
        ([Status.CANCELLED], Status.ACCEPTED),
    ],
)
def test_steps_out_of_order_are_refused(household, staff, path, bad):
    req = _raise(household)
    for status in path:
        services.request_transition(actor=staff, request=req, status=status)
    with pytest.raises(services.TransitionError):
        services.request_transition(actor=staff, request=req, status=bad)


def test_the_household_may_only_confirm_or_reopen_what_was_done(household, staff):
    req = _raise(household)
    with pytest.raises(services.TransitionError):
        services.request_transition(actor="link", request=req, status=Status.ACCEPTED, by_household=True)
    with pytest.raises(services.TransitionError):
        services.request_transition(actor="link", request=req, status=Status.CONFIRMED, by_household=True)
    services.request_transition(actor=staff, request=req, status=Status.ACCEPTED)
    services.request_transition(actor=staff, request=req, status=Status.DONE)
    with pytest.raises(ValidationError):  # reopening says why
        services.request_transition(actor="link", request=req, status=Status.REOPENED, by_household=True)
    services.request_transition(actor="link", request=req, status=Status.REOPENED, note="还少一袋", by_household=True)
    req.refresh_from_db()
    assert req.status == Status.REOPENED and req.done_at is None and req.is_open
    services.request_transition(actor=staff, request=req, status=Status.DONE)
    services.request_transition(actor="link", request=req, status=Status.CONFIRMED, by_household=True)


def test_reopening_restarts_the_time_limits(household, staff):
    with time_machine.travel(T0, tick=False):
        req = _raise(household, urgency=Urgency.TODAY)
        services.request_transition(actor=staff, request=req, status=Status.ACCEPTED)
        services.request_transition(actor=staff, request=req, status=Status.DONE)
    later = T0 + dt.timedelta(days=2)
    with time_machine.travel(later, tick=False):
        services.request_transition(actor="l", request=req, status=Status.REOPENED, note="没送到", by_household=True)
        assert req.done_due_at > later and not req.is_overdue


def test_assign_to_a_person_in_scope_or_a_team(household, household2, staff, leader, make_user, building2, head):
    req = _raise(household)
    services.request_assign(actor=head, request=req, user=leader)
    assert req.assignee == leader
    assert selectors.request_list(user=leader, mine=True).get() == req
    elsewhere = make_user(Role.BUILDING_LEADER, building2)
    with pytest.raises(ValidationError):
        services.request_assign(actor=head, request=req, user=elsewhere)
    from jiayuan.volunteers.models import Team

    team = Team.objects.create(neighbourhood_id=household.neighbourhood_id, name="跑腿队")
    services.request_assign(actor=head, request=req, team=team)
    req.refresh_from_db()
    assert req.team == team
    assert AuditEvent.objects.filter(action="care.request_assign", object_id=str(req.pk)).count() == 2


def test_a_closed_request_cannot_be_assigned(household, staff, head):
    req = _raise(household)
    services.request_transition(actor=staff, request=req, status=Status.CANCELLED)
    with pytest.raises(services.TransitionError):
        services.request_assign(actor=head, request=req, user=staff)


def test_scope_a_leader_sees_their_buildings_requests(
    household, household2, leader, head, make_user, other_neighbourhood
):
    mine = _raise(household)
    theirs = _raise(household2)
    assert set(selectors.request_list(user=leader)) == {mine}
    assert set(selectors.request_list(user=head)) == {mine, theirs}
    outsider = make_user(Role.COMMITTEE_HEAD, other_neighbourhood)
    assert not selectors.request_list(user=outsider).exists()


def test_a_retried_key_is_stored_once(household):
    a = _raise(household, idempotency_key="k-1")
    b = _raise(household, idempotency_key="k-1")
    assert a.pk == b.pk


def test_source_is_kept(household, staff):
    req = _raise(household, actor=staff, source=Source.PHONE)
    assert req.source == Source.PHONE and req.created_by == staff
