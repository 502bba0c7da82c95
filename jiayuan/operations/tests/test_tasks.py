"""A finding becomes a task: open → assigned → fixed → checked; who may do which step; sending a
fix back; overdue tasks; every step audited."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from jiayuan.core.models import AuditEvent
from jiayuan.operations import selectors, services
from jiayuan.operations.choices import Assignee, TaskStatus
from jiayuan.volunteers.models import Team


def _actions(task) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="operations.task", object_id=str(task.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_finding_opens_a_task_due_within_the_settings_hours(report, building):
    before = timezone.now()
    task = report(building=building, place="", note="湿垃圾桶满溢")
    assert task.status == TaskStatus.OPEN
    assert task.finding.place == building.name  # no place given: the building's name
    assert task.building == building
    assert dt.timedelta(hours=23, minutes=59) < task.due_at - before <= dt.timedelta(hours=24, seconds=5)
    assert AuditEvent.objects.filter(action="operations.finding_report", object_id=str(task.finding_id)).exists()


def test_unknown_kind_and_building_of_another_neighbourhood_are_refused(owners, neighbourhood, other_neighbourhood):
    from jiayuan.places import services as places

    with pytest.raises(ValidationError):
        services.finding_report(actor=owners, neighbourhood=neighbourhood, kind="ufo", place="天上")
    compound = places.compound_create(actor=None, neighbourhood=other_neighbourhood, name="红御苑")
    other = places.building_create(actor=None, compound=compound, number="9", units=1, floors=6)
    with pytest.raises(ValidationError):
        services.finding_report(actor=owners, neighbourhood=neighbourhood, kind="hazard", place="x", building=other)


def test_lifecycle_property_fixes_owners_committee_checks(report, staff, prop, owners):
    task = report()
    task = services.task_set_status(actor=staff, task=task, status=TaskStatus.ASSIGNED, assignee=Assignee.PROPERTY)
    assert task.assignee == Assignee.PROPERTY and task.assigned_at is not None
    task = services.task_set_status(actor=prop, task=task, status=TaskStatus.FIXED, note="已清运")
    assert task.fixed_by == prop and task.note == "已清运"
    task = services.task_set_status(actor=owners, task=task, status=TaskStatus.CHECKED)
    assert task.status == TaskStatus.CHECKED and task.checked_by == owners
    assert _actions(task) == ["operations.task_assign", "operations.task_fix", "operations.task_check"]


def test_property_may_neither_assign_nor_check_nor_fix_the_committees_task(report, staff, prop):
    task = report()
    with pytest.raises(services.TaskError) as exc:
        services.task_set_status(actor=prop, task=task, status=TaskStatus.ASSIGNED)
    assert exc.value.code == "not_allowed"
    services.task_set_status(actor=staff, task=task, status=TaskStatus.ASSIGNED, assignee=Assignee.COMMITTEE)
    with pytest.raises(services.TaskError) as exc:
        services.task_set_status(actor=prop, task=task, status=TaskStatus.FIXED)
    assert exc.value.code == "not_allowed"
    services.task_set_status(actor=staff, task=task, status=TaskStatus.FIXED)
    with pytest.raises(services.TaskError) as exc:
        services.task_set_status(actor=prop, task=task, status=TaskStatus.CHECKED)
    assert exc.value.code == "not_allowed"


def test_nobody_checks_their_own_fix(report, staff, head):
    task = report()
    services.task_set_status(actor=staff, task=task, status=TaskStatus.ASSIGNED, assignee=Assignee.PROPERTY)
    services.task_set_status(actor=staff, task=task, status=TaskStatus.FIXED)
    with pytest.raises(services.TaskError) as exc:
        services.task_set_status(actor=staff, task=task, status=TaskStatus.CHECKED)
    assert exc.value.code == "same_person"
    assert services.task_set_status(actor=head, task=task, status=TaskStatus.CHECKED).status == TaskStatus.CHECKED


def test_steps_out_of_order_are_refused(report, staff, prop, owners):
    task = report()
    with pytest.raises(services.TaskError) as exc:
        services.task_set_status(actor=staff, task=task, status=TaskStatus.FIXED)
    assert exc.value.code == "invalid_transition"
    services.task_set_status(actor=staff, task=task, status=TaskStatus.ASSIGNED)
    services.task_set_status(actor=prop, task=task, status=TaskStatus.FIXED)
    services.task_set_status(actor=owners, task=task, status=TaskStatus.CHECKED)
    with pytest.raises(services.TaskError) as exc:
        services.task_set_status(actor=staff, task=task, status=TaskStatus.ASSIGNED)
    assert exc.value.code == "invalid_transition"


def test_a_fix_sent_back_needs_a_reason_and_gets_a_new_deadline(report, staff, prop, owners):
    task = report()
    services.task_set_status(actor=staff, task=task, status=TaskStatus.ASSIGNED)
    services.task_set_status(actor=prop, task=task, status=TaskStatus.FIXED)
    with pytest.raises(ValidationError):
        services.task_set_status(actor=owners, task=task, status=TaskStatus.ASSIGNED)
    with time_machine.travel(timezone.now() + dt.timedelta(hours=30)):
        task = services.task_set_status(actor=owners, task=task, status=TaskStatus.ASSIGNED, note="还有异味")
        assert task.returned == 1 and task.fixed_at is None and task.assignee == Assignee.PROPERTY
        assert task.due_at > timezone.now()
    assert _actions(task)[-1] == "operations.task_returned"


def test_assigned_to_a_team_needs_the_team(report, staff, neighbourhood):
    task = report()
    with pytest.raises(ValidationError):
        services.task_set_status(actor=staff, task=task, status=TaskStatus.ASSIGNED, assignee=Assignee.TEAM)
    team = Team.objects.create(neighbourhood=neighbourhood, name="巡查队", kind="patrol")
    task = services.task_set_status(
        actor=staff, task=task, status=TaskStatus.ASSIGNED, assignee=Assignee.TEAM, team=team
    )
    assert task.team == team and task.assignee_label == "巡查队"


def test_overdue_tasks_stand_out_until_fixed(report, staff, prop, owners):
    late = report(place="南门")
    services.task_set_status(actor=staff, task=late, status=TaskStatus.ASSIGNED)
    done = report(place="北门")
    services.task_set_status(actor=staff, task=done, status=TaskStatus.ASSIGNED)
    services.task_set_status(actor=prop, task=done, status=TaskStatus.FIXED)
    assert not selectors.task_list(user=owners, overdue=True).exists()
    with time_machine.travel(timezone.now() + dt.timedelta(hours=25)):
        late.refresh_from_db()
        assert late.is_overdue
        assert list(selectors.task_list(user=owners, overdue=True)) == [late]
        assert set(selectors.task_list(user=owners, overdue=False)) == {done}


def test_a_team_leader_sees_and_fixes_their_teams_tasks_only(client, report, staff, owners, volunteer, neighbourhood):
    from django.urls import reverse

    from jiayuan.volunteers.models import TeamMembership, Volunteer

    team = Team.objects.create(neighbourhood=neighbourhood, name="消杀队", kind="disinfection")
    other_team = Team.objects.create(neighbourhood=neighbourhood, name="巡查队", kind="patrol")
    me = Volunteer.objects.create(neighbourhood=neighbourhood, name="队长", user=volunteer, status="active")
    TeamMembership.objects.create(neighbourhood=neighbourhood, team=team, volunteer=me, is_leader=True)
    ours, theirs = report(place="A"), report(place="B")
    services.task_set_status(actor=staff, task=ours, status=TaskStatus.ASSIGNED, assignee=Assignee.TEAM, team=team)
    services.task_set_status(
        actor=staff, task=theirs, status=TaskStatus.ASSIGNED, assignee=Assignee.TEAM, team=other_team
    )
    assert list(selectors.task_list(user=volunteer)) == [ours]
    client.force_login(volunteer)
    assert client.get(reverse("operations:task", args=[theirs.pk])).status_code == 404
    with pytest.raises(services.TaskError):
        services.task_set_status(actor=volunteer, task=theirs, status=TaskStatus.FIXED)
    client.post(reverse("operations:task_move", args=[ours.pk, "fixed"]), {"note": "已补消杀"})
    ours.refresh_from_db()
    assert ours.status == TaskStatus.FIXED and ours.fixed_by == volunteer
    with pytest.raises(services.TaskError):  # a team leader does not check
        services.task_set_status(actor=volunteer, task=ours, status=TaskStatus.CHECKED)
