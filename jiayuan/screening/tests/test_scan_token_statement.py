"""The sample scan with its bearer token read in the same statement as the round and the resident
(ADR 0023): the sampler's scope decided on the row as ``restrict`` decides it, a dead token a 401
even with a bad body, a removed assignment effective at once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from jiayuan.accounts.models import ApiToken
from jiayuan.accounts.services import api_token_create
from jiayuan.core.permissions import Role
from jiayuan.screening import services
from jiayuan.screening.codes import sampling_code
from jiayuan.screening.models import Sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def round_(neighbourhood):
    return services.round_create(actor=None, neighbourhood=neighbourhood, date=timezone.localdate(), pool_size=10)


def scan(client, round_, key, body):
    return client.post(
        f"/api/v1/rounds/{round_.pk}/samples", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


def test_scope_is_decided_on_the_row(
    client, make_user, make_resident, household, street, neighbourhood, other_neighbourhood, round_
):
    resident = make_resident(household, name="李四")
    other_round = services.round_create(
        actor=None, neighbourhood=other_neighbourhood, date=timezone.localdate() - dt.timedelta(days=1), pool_size=10
    )
    sampler = make_user(Role.SAMPLER, neighbourhood)
    _t, key = api_token_create(actor=None, user=sampler)
    outside = scan(client, other_round, key, {"tube": "X1", "resident_code": sampling_code(resident.pk)})
    assert outside.status_code == 404 and outside.json()["code"] == "not_found"
    r = scan(client, round_, key, {"tube": "T1", "resident_code": sampling_code(resident.pk)})
    assert r.status_code == 201, r.content
    # A street-level grant reaches every round of the street's neighbourhoods.
    head = make_user(Role.COMMITTEE_HEAD, street)
    _t, head_key = api_token_create(actor=None, user=head)
    r = scan(client, other_round, head_key, {"tube": "X1", "resident_code": "bad"})
    assert r.status_code == 404 and r.json()["code"] == "unknown_code"  # past the scope: the code is refused
    # The assignment taken away: the next scan is outside the scope at once.
    sampler.assignments.update(active=False)
    resident2 = make_resident(household, name="王五")
    assert scan(client, round_, key, {"tube": "T1", "resident_code": sampling_code(resident2.pk)}).status_code == 404
    assert Sample.objects.count() == 1


def test_dead_token_is_401_even_with_a_bad_body(client, make_user, make_resident, household, neighbourhood, round_):
    resident = make_resident(household, name="李四")
    sampler = make_user(Role.SAMPLER, neighbourhood)
    token, key = api_token_create(actor=None, user=sampler)
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    for body in ({"tube": "T1", "resident_code": sampling_code(resident.pk)}, {"tube": ""}):
        r = scan(client, round_, key, body)
        assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    assert scan(client, round_, "jy_no-such-token", {"tube": "T1", "resident_code": "x"}).status_code == 401
    assert not Sample.objects.exists()
