"""Granting roles over scopes."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from jiayuan.accounts.models import Assignment, User
from jiayuan.accounts.services import assignment_grant
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role


@pytest.fixture
def user(db):
    return User.objects.create_user(username="u", password="pass-1234")


@pytest.mark.django_db
def test_grant_is_idempotent_and_audited_once(user, building):
    a = assignment_grant(actor=None, user=user, role=Role.BUILDING_LEADER, scope=building)
    b = assignment_grant(actor=None, user=user, role=Role.BUILDING_LEADER, scope=building)
    assert a.pk == b.pk
    assert (a.level, a.neighbourhood_id) == ("building", building.neighbourhood_id)
    assert AuditEvent.objects.filter(action="assignment.grant").count() == 1


@pytest.mark.django_db
def test_granting_again_reactivates(user, neighbourhood):
    a = assignment_grant(actor=None, user=user, role=Role.VOLUNTEER, scope=neighbourhood)
    Assignment.objects.filter(pk=a.pk).update(active=False)
    again = assignment_grant(actor=None, user=user, role=Role.VOLUNTEER, scope=neighbourhood)
    assert again.pk == a.pk and again.active
    assert AuditEvent.objects.filter(action="assignment.grant").count() == 2


@pytest.mark.django_db
def test_database_refuses_duplicate_assignments(user, compound):
    Assignment.objects.create(user=user, role=Role.GATE_GUARD, level="compound", compound=compound)
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(user=user, role=Role.GATE_GUARD, level="compound", compound=compound)


@pytest.mark.django_db
def test_database_refuses_scope_that_does_not_match_level(user, building):
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(user=user, role=Role.VOLUNTEER, level="street", building=building)


@pytest.mark.django_db
def test_unknown_role_is_refused(user, building):
    with pytest.raises(ValidationError):
        assignment_grant(actor=None, user=user, role="king", scope=building)


@pytest.mark.django_db
def test_assignment_added_in_the_admin_is_audited(client, building):
    admin = User.objects.create_superuser(username="root", password="pass-1234")
    target = User.objects.create_user(username="vol", password="pass-1234")
    client.force_login(admin)
    prefix = "assignments"
    response = client.post(
        f"/admin/accounts/user/{target.pk}/change/",
        {
            "username": "vol",
            "display_name": "",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "00:00:00",
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
            f"{prefix}-0-role": Role.VOLUNTEER,
            f"{prefix}-0-level": "building",
            f"{prefix}-0-building": building.pk,
            f"{prefix}-0-active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert target.assignments.get().building_id == building.pk
    event = AuditEvent.objects.get(action="assignment.grant")
    assert event.actor == admin and "vol volunteer building" in event.object_repr
