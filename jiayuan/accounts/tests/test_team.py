"""Team pages: the committee head adds staff and volunteers, grants and revokes roles and resets a
forgotten password — only within their own neighbourhood, only roles below their own, audited."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from jiayuan.accounts import services
from jiayuan.accounts.models import Assignment, User
from jiayuan.accounts.services import api_token_create
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.places import services as places

pytestmark = pytest.mark.django_db


@pytest.fixture
def head(make_user, neighbourhood):
    return make_user(Role.COMMITTEE_HEAD, neighbourhood, username="head")


@pytest.fixture
def far_building(other_neighbourhood):
    compound = places.compound_create(actor=None, neighbourhood=other_neighbourhood, name="远方小区")
    return places.building_create(actor=None, compound=compound, number="9")


def _add(client, **data):
    return client.post("/team/new/", data)


def _password_from(resp) -> str:
    match = re.search(r'id="new-password" class="secret">([^<]+)<', resp.content.decode())
    assert match, resp.content.decode()[:2000]
    return match.group(1)


def test_head_adds_a_building_leader_who_can_sign_in_with_the_password_shown_once(client, head, building):
    client.force_login(head)
    assert client.get("/team/").status_code == 200
    resp = _add(
        client, display_name="王阿姨", username="wang.ayi", role=Role.BUILDING_LEADER, scope=f"building:{building.pk}"
    )
    assert resp.status_code == 200
    password = _password_from(resp)
    assert "wang.ayi" in resp.content.decode() and "登录地址" in resp.content.decode()
    member = User.objects.get(username="wang.ayi")
    assert member.display_name == "王阿姨" and member.check_password(password)
    assert not Assignment.objects.filter(user=member).exclude(role=Role.BUILDING_LEADER, building=building).exists()
    assert AuditEvent.objects.filter(action="user.create", object_id=str(member.pk), actor=head).exists()
    assert AuditEvent.objects.filter(action="assignment.grant", actor=head).count() == 1
    # The password is stored hashed only, and nowhere in the audit trail.
    assert password not in member.password
    assert not any(password in str(e.changes) + e.object_repr for e in AuditEvent.objects.all())
    # The new member signs in, must first choose a password of their own, then sees their building.
    other = Client()
    assert other.login(username="wang.ayi", password=password)
    resp = other.get(f"/places/buildings/{building.pk}/")
    assert resp.status_code == 302 and resp["Location"] == "/accounts/password/"
    assert "别人替您设置" in other.get("/accounts/password/").content.decode()
    resp = other.post(
        "/accounts/password/",
        {"old_password": password, "new_password1": "Wang-Own-2468", "new_password2": "Wang-Own-2468"},
    )
    assert resp.status_code == 302
    member.refresh_from_db()
    assert not member.must_change_password
    assert other.get(f"/places/buildings/{building.pk}/").status_code == 200
    listed = client.get("/team/").content.decode()
    assert "王阿姨" in listed and "楼组长" in listed


def test_bad_input_is_a_field_error_and_creates_nobody(client, head, building, far_building):
    client.force_login(head)
    User.objects.create_user(username="taken", password="x-12345678")
    cases = [
        ({"username": "a b"}, "username"),
        ({"username": "Taken"}, "username"),
        ({"display_name": ""}, "display_name"),
        ({"role": Role.COMMITTEE_HEAD}, "role"),
        ({"role": Role.STREET_OFFICER}, "role"),
        ({"role": "nope"}, "role"),
        ({"scope": f"building:{far_building.pk}"}, "scope"),
        ({"scope": "building:99999999999999999999999"}, "scope"),
        ({"scope": "street:1"}, "scope"),
    ]
    before = User.objects.count()
    for override, field in cases:
        data = {"display_name": "李四", "username": "li.si", "role": Role.VOLUNTEER, "scope": f"building:{building.pk}"}
        resp = _add(client, **(data | override))
        assert resp.status_code == 200, (override, resp.status_code)
        assert resp.context["form"].errors.get(field), (override, resp.context["form"].errors)
    assert User.objects.count() == before


def test_service_refuses_a_scope_outside_the_actor_and_a_head_role(head, far_building, building):
    with pytest.raises(ValidationError) as exc:
        services.team_member_create(
            actor=head, username="x.y", display_name="某人", role=Role.VOLUNTEER, scope=far_building
        )
    assert "scope" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.team_member_create(
            actor=head, username="x.y", display_name="某人", role=Role.COMMITTEE_HEAD, scope=building
        )
    assert "role" in exc.value.message_dict


@pytest.mark.parametrize("role", [Role.COMMITTEE_STAFF, Role.BUILDING_LEADER, Role.VOLUNTEER, Role.SAMPLER])
def test_only_a_team_manager_sees_the_team_pages(client, make_user, neighbourhood, building, head, role):
    scope = building if role in (Role.BUILDING_LEADER, Role.VOLUNTEER) else neighbourhood
    someone = make_user(role, scope, username=f"u-{role}")
    client.force_login(someone)
    assert client.get("/team/").status_code == 404
    assert client.get("/team/new/").status_code == 404
    assert client.get(f"/team/{head.pk}/").status_code == 404
    assert client.post(f"/team/{head.pk}/password/").status_code == 404


def test_head_sees_only_their_own_neighbourhoods_people(client, head, make_user, building, far_building):
    mine = make_user(Role.VOLUNTEER, building, username="mine")
    theirs = make_user(Role.VOLUNTEER, far_building, username="theirs")
    client.force_login(head)
    listed = client.get("/team/").content.decode()
    assert "mine" in listed and "theirs" not in listed
    assert client.get(f"/team/{mine.pk}/").status_code == 200
    assert client.get(f"/team/{theirs.pk}/").status_code == 404
    far_role = theirs.assignments.get()
    assert client.post(f"/team/roles/{far_role.pk}/revoke/").status_code == 404
    assert client.post(f"/team/{theirs.pk}/password/").status_code == 404
    assert Assignment.objects.get(pk=far_role.pk).active
    assert client.get("/team/", {"q": "min"}).content.decode().count("/team/") >= 1


def test_grant_then_revoke_takes_effect_and_is_audited(client, head, make_user, neighbourhood, building):
    member = make_user(Role.VOLUNTEER, building, username="helper")
    client.force_login(head)
    resp = client.post(f"/team/{member.pk}/", {"role": Role.SAMPLER, "scope": f"neighbourhood:{neighbourhood.pk}"})
    assert resp.status_code == 302
    sampler_role = Assignment.objects.get(user=member, role=Role.SAMPLER)
    assert sampler_role.active and sampler_role.neighbourhood_id == neighbourhood.pk
    resp = client.post(f"/team/roles/{sampler_role.pk}/revoke/")
    assert resp.status_code == 302
    sampler_role.refresh_from_db()
    assert not sampler_role.active
    event = AuditEvent.objects.get(action="assignment.revoke")
    assert event.actor_id == head.pk and event.neighbourhood_id == neighbourhood.pk
    # The member's page still lists the revoked role, struck through.
    assert "已收回" in client.get(f"/team/{member.pk}/").content.decode()


def test_a_head_cannot_revoke_or_reset_a_fellow_head(client, head, make_user, neighbourhood):
    other_head = make_user(Role.COMMITTEE_HEAD, neighbourhood, username="head2")
    client.force_login(head)
    role = other_head.assignments.get()
    client.post(f"/team/roles/{role.pk}/revoke/")
    assert Assignment.objects.get(pk=role.pk).active
    resp = client.post(f"/team/{other_head.pk}/password/", follow=True)
    assert "请联系街道或系统管理员" in resp.content.decode()
    assert not AuditEvent.objects.filter(action="user.password_reset").exists()


def test_password_reset_for_a_member_and_refused_when_they_also_serve_elsewhere(
    client, head, make_user, building, far_building
):
    member = make_user(Role.VOLUNTEER, building, username="forgetful")
    client.force_login(head)
    resp = client.post(f"/team/{member.pk}/password/")
    password = _password_from(resp)
    member.refresh_from_db()
    assert member.check_password(password) and member.must_change_password
    # The API (scanners) is not held up by it; the web asks for a new password first.
    _t, key = api_token_create(actor=None, user=member)
    assert client.get("/api/v1/residents", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    assert AuditEvent.objects.filter(action="user.password_reset", object_id=str(member.pk)).count() == 1
    # Also a volunteer in another neighbourhood: the head cannot take the account over.
    Assignment.objects.create(user=member, role=Role.VOLUNTEER, level="building", building=far_building)
    resp = client.post(f"/team/{member.pk}/password/", follow=True)
    assert "请联系街道或系统管理员" in resp.content.decode()
    member.refresh_from_db()
    assert member.check_password(password)


def test_member_changes_their_own_password(client, make_user, building):
    member = make_user(Role.VOLUNTEER, building, username="selfie", password="old-pass-1234")
    client.force_login(member)
    bad = client.post("/accounts/password/", {"old_password": "wrong", "new_password1": "x", "new_password2": "y"})
    assert bad.status_code == 200 and bad.context["form"].errors
    ok = client.post(
        "/accounts/password/",
        {"old_password": "old-pass-1234", "new_password1": "Neue-Pass-9876", "new_password2": "Neue-Pass-9876"},
    )
    assert ok.status_code == 302
    member.refresh_from_db()
    assert member.check_password("Neue-Pass-9876")
    assert AuditEvent.objects.filter(action="user.password_change", actor=member).exists()
    assert client.get("/").status_code == 200  # still signed in here


def test_team_pages_never_500(client, head, building):
    client.force_login(head)
    for q in ("", "x" * 500, "'; drop table", "%", "王"):
        assert client.get("/team/", {"q": q, "page": "abc"}).status_code == 200
    assert client.get("/team/", {"q": "\x00"}).status_code == 400
    for data in ({}, {"role": ["a", "b"]}, {"scope": "building:"}, {"scope": ":"}, {"username": "x" * 500}):
        assert client.post("/team/new/", data).status_code == 200
    assert client.get("/team/999999999/").status_code == 404
    assert client.post("/team/roles/999999999/revoke/").status_code == 404


def test_an_inconsistent_neighbourhood_column_does_not_pull_a_far_role_into_the_team(
    client, head, neighbourhood, far_building
):
    """A building-level role is in the team of the building's neighbourhood only, whatever the
    (denormalised) neighbourhood column beside it says."""
    far = User.objects.create_user(username="far.v", password="x-12345678")
    Assignment.objects.create(
        user=far, role=Role.VOLUNTEER, level="building", building=far_building, neighbourhood=neighbourhood
    )
    client.force_login(head)
    assert "far.v" not in client.get("/team/").content.decode()
    assert client.get(f"/team/{far.pk}/").status_code == 404
    assert client.post(f"/team/{far.pk}/password/").status_code == 404


def test_a_head_over_one_compound_or_building_manages_no_team(client, make_user, neighbourhood, compound, building):
    """A grant over part of a neighbourhood must not hand out roles over the whole of it (reading
    grants reach up to the neighbourhood; team management does not)."""
    for scope in (compound, building):
        small_head = make_user(Role.COMMITTEE_HEAD, scope, username=f"small-{type(scope).__name__}")
        client.force_login(small_head)
        assert client.get("/team/").status_code == 404
        resp = _add(
            client,
            display_name="扩权",
            username="grab.all",
            role=Role.COMMITTEE_STAFF,
            scope=f"neighbourhood:{neighbourhood.pk}",
        )
        assert resp.status_code == 404
        with pytest.raises(ValidationError) as exc:
            services.team_member_create(
                actor=small_head, username="grab.all", display_name="扩权", role=Role.VOLUNTEER, scope=building
            )
        assert "scope" in exc.value.message_dict
    assert not User.objects.filter(username="grab.all").exists()


def test_a_head_cannot_change_their_own_roles(client, head, neighbourhood):
    client.force_login(head)
    resp = client.post(
        f"/team/{head.pk}/", {"role": Role.COMMITTEE_STAFF, "scope": f"neighbourhood:{neighbourhood.pk}"}
    )
    assert resp.status_code == 200 and resp.context["form"].errors
    assert list(head.assignments.values_list("role", flat=True)) == [Role.COMMITTEE_HEAD]
    with pytest.raises(ValidationError):
        services.team_grant(actor=head, user=head, role=Role.VOLUNTEER, scope=neighbourhood)


def test_revoke_service_checks_the_actors_team_itself(head, make_user, far_building):
    from django.http import Http404

    far = make_user(Role.VOLUNTEER, far_building, username="far.one")
    role = far.assignments.get()
    with pytest.raises(Http404):
        services.team_revoke(actor=head, assignment=role)
    role.refresh_from_db()
    assert role.active


def test_password_reset_revokes_the_members_api_tokens(head, make_user, building, client):
    member = make_user(Role.SAMPLER, building, username="scanner.phone")
    token, key = api_token_create(actor=None, user=member)
    assert client.get("/api/v1/residents", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    services.team_password_reset(actor=head, user=member)
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get("/api/v1/residents", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    event = AuditEvent.objects.get(action="user.password_reset")
    assert event.changes == {"api_tokens_revoked": 1}


def test_password_reset_refused_when_an_inactive_role_is_elsewhere(head, make_user, building, far_building):
    member = make_user(Role.VOLUNTEER, building, username="two.places")
    Assignment.objects.create(
        user=member, role=Role.COMMITTEE_HEAD, level="building", building=far_building, active=False
    )
    with pytest.raises(ValidationError):
        services.team_password_reset(actor=head, user=member)


def test_deactivating_a_member_ends_sign_in_sessions_and_tokens(client, head, make_user, building, far_building):
    member = make_user(Role.VOLUNTEER, building, username="leaving", password="leave-pass-1")
    _t, key = api_token_create(actor=None, user=member)
    phone = Client()
    assert phone.login(username="leaving", password="leave-pass-1")
    client.force_login(head)
    resp = client.post(f"/team/{member.pk}/deactivate/")
    assert resp.status_code == 302
    member.refresh_from_db()
    assert not member.is_active and not member.assignments.filter(active=True).exists()
    assert phone.get("/").status_code == 302  # the signed-in phone is sent to the login page
    assert not Client().login(username="leaving", password="leave-pass-1")
    assert Client().get("/api/v1/residents", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    event = AuditEvent.objects.get(action="user.deactivate")
    assert event.changes == {"roles_revoked": 1, "api_tokens_revoked": 1} and event.actor_id == head.pk
    assert "这个账号已停用" in client.get(f"/team/{member.pk}/").content.decode()
    # Someone who also serves elsewhere is closed by the operator, not by this head.
    both = make_user(Role.VOLUNTEER, building, username="both.places")
    Assignment.objects.create(user=both, role=Role.VOLUNTEER, level="building", building=far_building)
    resp = client.post(f"/team/{both.pk}/deactivate/", follow=True)
    assert "请联系街道或系统管理员停用账号" in resp.content.decode()
    both.refresh_from_db()
    assert both.is_active


def test_only_a_team_manager_can_deactivate(client, make_user, building, head):
    volunteer = make_user(Role.VOLUNTEER, building, username="v1")
    other = make_user(Role.VOLUNTEER, building, username="v2")
    client.force_login(volunteer)
    assert client.post(f"/team/{other.pk}/deactivate/").status_code == 404
    other.refresh_from_db()
    assert other.is_active
