"""API tokens as the hot paths read them (``accounts.services.tokens``): the token's use recorded
at most once a minute, the user's unread columns loaded when asked, and the audit log's actor
reference kept by the ORM though the database has no constraint for it (ADR 0023)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import ProtectedError
from django.utils import timezone

from jiayuan.accounts.models import ApiToken
from jiayuan.accounts.services import api_token_authenticate, api_token_create
from jiayuan.core.audit import audit_record
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role

pytestmark = pytest.mark.django_db


def test_a_tokens_use_is_recorded_at_most_once_a_minute(make_user, neighbourhood):
    user = make_user(Role.COMMITTEE_HEAD, neighbourhood)
    token, key = api_token_create(actor=None, user=user)
    assert token.last_used_at is None
    assert api_token_authenticate(key) == user
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None and abs((timezone.now() - first).total_seconds()) < 5
    api_token_authenticate(key)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first  # within the minute: not again
    earlier = first - dt.timedelta(seconds=90)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=earlier)
    api_token_authenticate(key)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > earlier + dt.timedelta(seconds=60)


def test_a_token_users_unread_columns_load_when_asked(make_user, neighbourhood):
    user = make_user(Role.COMMITTEE_HEAD, neighbourhood)
    user.email = "head@example.org"
    user.save()
    _t, key = api_token_create(actor=None, user=user)
    found = api_token_authenticate(key)
    assert {"password", "email", "last_login", "date_joined"} <= found.get_deferred_fields()
    assert found.username == user.username and found.is_active and not found.get_deferred_fields() & {"username"}
    assert found.email == "head@example.org" and found.date_joined == user.date_joined


def test_a_user_with_audit_events_cannot_be_deleted(make_user, neighbourhood):
    user = make_user(Role.COMMITTEE_HEAD, neighbourhood)
    audit_record(actor=user, action="test.something", object_repr="x")
    with pytest.raises(ProtectedError):
        user.delete()
    assert AuditEvent.objects.filter(actor=user).count() == 1
