"""Review probes (scratch)."""
from __future__ import annotations

import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client

from jiayuan.accounts import services
from jiayuan.accounts.models import Assignment, User
from jiayuan.accounts.services import api_token_create
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.places import services as places

pytestmark = pytest.mark.django_db


def _pw(resp):
    m = re.search(r'id="new-password" class="secret">([^<]+)<', resp.content.decode())
    return m and m.group(1)


def test_compound_head_grants_neighbourhood_wide_staff(client, make_user, neighbourhood, compound):
    chead = make_user(Role.COMMITTEE_HEAD, compound, username="chead")
    client.force_login(chead)
    resp = client.get("/team/new/")
    print("new page", resp.status_code, f"neighbourhood:{neighbourhood.pk}" in resp.content.decode())
    resp = client.post("/team/new/", {"display_name": "X", "username": "sock.puppet",
                                      "role": Role.COMMITTEE_STAFF, "scope": f"neighbourhood:{neighbourhood.pk}"})
    pw = _pw(resp)
    print("created", resp.status_code, bool(pw))
    a = Assignment.objects.filter(user__username="sock.puppet").values_list("role", "level", "neighbourhood_id")
    print("assignments", list(a))
    assert pw is None, "compound-level head created a neighbourhood-wide committee_staff"


def test_building_head_grants_compound(client, make_user, building, compound):
    bhead = make_user(Role.COMMITTEE_HEAD, building, username="bhead")
    with pytest.raises(ValidationError):
        services.team_member_create(actor=bhead, username="sock2", display_name="Y",
                                    role=Role.GATE_GUARD, scope=compound)


def test_head_grants_self_role_survives_head_removal(client, head, neighbourhood):
    client.force_login(head)
    resp = client.post(f"/team/{head.pk}/", {"role": Role.COMMITTEE_STAFF, "scope": f"neighbourhood:{neighbourhood.pk}"})
    print("self grant", resp.status_code, list(head.assignments.values_list("role", "active")))
    assert resp.status_code != 302


def test_service_revoke_without_scope(make_user, head, other_neighbourhood):
    comp = places.compound_create(actor=None, neighbourhood=other_neighbourhood, name="远")
    far = places.building_create(actor=None, compound=comp, number="9")
    v = make_user(Role.VOLUNTEER, far, username="farv")
    a = v.assignments.get()
    services.team_revoke(actor=head, assignment=a)
    a.refresh_from_db()
    assert a.active, "service revoked an assignment outside the actor's scope"


def test_inconsistent_neighbourhood_column(client, head, make_user, neighbourhood, other_neighbourhood):
    comp = places.compound_create(actor=None, neighbourhood=other_neighbourhood, name="远")
    far = places.building_create(actor=None, compound=comp, number="9")
    v = User.objects.create_user(username="farv2", password="x")
    a = Assignment.objects.create(user=v, role=Role.VOLUNTEER, level="building", building=far, neighbourhood=neighbourhood)
    client.force_login(head)
    r = client.post(f"/team/{v.pk}/password/")
    print("reset", r.status_code, bool(_pw(r)))
    assert not _pw(r)


def test_reset_inactive_user_and_api_tokens(client, head, make_user, building):
    v = make_user(Role.VOLUNTEER, building, username="gone")
    _t, key = api_token_create(actor=None, user=v)
    client.force_login(head)
    r = client.post(f"/team/{v.pk}/password/")
    assert _pw(r)
    api = Client()
    resp = api.get("/api/v1/residents", HTTP_AUTHORIZATION=f"Bearer {key}")
    print("token after reset", resp.status_code)


def test_nul_text_plain_json(client, head, household):
    _t, key = api_token_create(actor=None, user=head)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    body = json.dumps({"household": household.pk, "name": "张\u0000三", "id_type": "mainland"})
    c = Client(raise_request_exception=False)
    resp = c.post("/api/v1/residents", body, content_type="text/plain", **auth)
    print("text/plain", resp.status_code, resp.content[:200])
    assert resp.status_code != 500


def test_nul_form_post_leader_reject(client, head):
    # raw request.POST used for reason
    from jiayuan.supplies.models import GroupBuyLeader
    print([f.name for f in GroupBuyLeader._meta.concrete_fields])


def test_escaped_backslash_false_positive(client, head, household):
    _t, key = api_token_create(actor=None, user=head)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    body = json.dumps({"household": household.pk, "name": "张\\u0000三", "id_type": "mainland"})
    resp = client.post("/api/v1/residents", body, content_type="application/json", **auth)
    print("escaped backslash", resp.status_code, resp.content[:200])
