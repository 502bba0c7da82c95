"""Two-factor sign-in: who must enrol, enrolment, the code at sign-in, backup codes, the head's
reset, the demo neighbourhood's exemption, and the API."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from jiayuan.accounts import services
from jiayuan.accounts.otp import SENSITIVE_ROLES, second_factor_required
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.places import services as places_services

PASSWORD = "pass-1234"


@pytest.fixture(autouse=True)
def _required(settings):
    settings.JIAYUAN_2FA_REQUIRED = True


def _code(device) -> str:
    """The code the phone shows now (time_machine moves "now" for django-otp as for the phone)."""
    return str(totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)).zfill(device.digits)


def _signed_in(username: str) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def _enrolled(user) -> TOTPDevice:
    device = TOTPDevice.objects.create(user=user, name="手机验证器", confirmed=True)
    static = StaticDevice.objects.create(user=user, name="备用码", confirmed=True)
    StaticToken.objects.create(device=static, token="abcd2345")
    return device


@pytest.fixture
def demo_neighbourhood(street):
    return places_services.neighbourhood_create(actor=None, street=street, code="DEMO", name="演示", is_demo=True)


def test_the_roles_that_must_use_two_factor():
    assert {Role.COMMITTEE_HEAD, Role.COMMITTEE_STAFF, Role.BUILDING_LEADER} == SENSITIVE_ROLES


def test_who_must_enrol(make_user, neighbourhood, building, demo_neighbourhood):
    assert second_factor_required(make_user(Role.COMMITTEE_HEAD, neighbourhood))
    assert second_factor_required(make_user(Role.BUILDING_LEADER, building))  # reveals phones in a building
    assert not second_factor_required(make_user(Role.VOLUNTEER, neighbourhood))
    assert not second_factor_required(make_user(Role.GATE_GUARD, neighbourhood))
    assert not second_factor_required(make_user(Role.COMMITTEE_HEAD, demo_neighbourhood))
    both = make_user(Role.COMMITTEE_HEAD, demo_neighbourhood)
    both.assignments.create(role=Role.COMMITTEE_STAFF, level="neighbourhood", neighbourhood=neighbourhood)
    assert second_factor_required(both)  # demo in one place, real data in another
    revoked = make_user(Role.COMMITTEE_HEAD, neighbourhood)
    revoked.assignments.update(active=False)
    assert not second_factor_required(revoked)


def test_a_head_enrols_at_first_sign_in(head):
    client = _signed_in("head")
    response = client.get("/people/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/setup/?next=%2Fpeople%2F")
    page = client.get(response["Location"])
    body = page.content.decode()
    assert "<svg" in body  # the QR code
    key = re.search(r'<code id="otp-key">([A-Z2-7 ]+)</code>', body).group(1)
    device = TOTPDevice.objects.get(user=head, confirmed=False)
    assert key.replace(" ", "") in device.config_url

    wrong = client.post("/accounts/2fa/setup/", {"code": "000000", "next": "/people/"})
    assert "验证码不对" in wrong.content.decode()
    assert client.get("/").status_code == 302  # still not through

    done = client.post("/accounts/2fa/setup/", {"code": _code(device), "next": "/people/"})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", done.content.decode())
    assert len(codes) == 10
    assert set(StaticToken.objects.filter(device__user=head).values_list("token", flat=True)) == set(codes)
    assert TOTPDevice.objects.get(user=head).confirmed
    assert client.get("/people/").status_code == 200
    assert AuditEvent.objects.filter(action="user.otp_enrol", object_id=str(head.pk)).count() == 1


def test_an_enrolled_head_gives_the_code_at_sign_in(head):
    device = _enrolled(head)
    client = _signed_in("head")
    response = client.get("/")
    assert response["Location"].startswith("/accounts/2fa/verify/")

    bad = client.post("/accounts/2fa/verify/", {"code": "123456", "next": "/people/"})
    assert "验证码不对" in bad.content.decode()
    assert AuditEvent.objects.filter(action="user.otp_failed", object_id=str(head.pk)).count() == 1
    # A wrong code slows the device down for a second: the next try comes later.
    later = timezone.now() + dt.timedelta(seconds=5)
    with time_machine.travel(later, tick=False):
        ok = client.post("/accounts/2fa/verify/", {"code": _code(device), "next": "/people/"})
        assert ok.status_code == 302
        assert ok["Location"] == "/people/"
        assert client.get("/people/").status_code == 200


def test_pages_before_the_code_show_no_menu_but_the_guide_opens(head):
    _enrolled(head)
    client = _signed_in("head")
    page = client.get("/accounts/2fa/verify/").content.decode()
    assert 'class="menu"' not in page
    assert "我的账号" not in page
    assert "退出" in page
    assert client.get("/help/zh/account/").status_code == 200
    client.post("/accounts/2fa/verify/", {"code": "abcd2345"})
    assert 'class="menu"' in client.get("/").content.decode()


def test_a_backup_code_works_once(head):
    _enrolled(head)
    first = _signed_in("head")
    assert first.post("/accounts/2fa/verify/", {"code": "ABCD 2345"}).status_code == 302
    assert first.get("/").status_code == 200
    again = _signed_in("head")
    response = again.post("/accounts/2fa/verify/", {"code": "abcd2345"})
    assert response.status_code == 200
    assert "验证码不对" in response.content.decode()


def test_the_next_address_must_be_on_this_site(head):
    _enrolled(head)
    client = _signed_in("head")
    response = client.post("/accounts/2fa/verify/", {"code": "abcd2345", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_a_code_that_is_not_a_code_is_a_field_error(head):
    _enrolled(head)
    client = _signed_in("head")
    response = client.post("/accounts/2fa/verify/", {"code": "<script>"})
    assert response.status_code == 200
    assert "验证码只含数字或字母" in response.content.decode()


def test_a_volunteer_signs_in_with_the_password_alone(make_user, neighbourhood):
    make_user(Role.VOLUNTEER, neighbourhood, username="vol")
    assert _signed_in("vol").get("/").status_code == 200


def test_a_sensitive_role_granted_later_asks_for_enrolment_within_a_minute(make_user, neighbourhood, head):
    volunteer = make_user(Role.VOLUNTEER, neighbourhood, username="vol")
    client = _signed_in("vol")
    assert client.get("/").status_code == 200
    services.team_grant(actor=head, user=volunteer, role=Role.COMMITTEE_STAFF, scope=neighbourhood)
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        assert client.get("/")["Location"].startswith("/accounts/2fa/setup/")


def test_demo_accounts_are_offered_two_factor_but_not_made_to(make_user, demo_neighbourhood):
    make_user(Role.COMMITTEE_HEAD, demo_neighbourhood, username="demohead")
    client = _signed_in("demohead")
    assert client.get("/people/").status_code == 200
    account = client.get("/accounts/").content.decode()
    assert "开启两步验证" in account
    assert "必须开启" not in account


def test_a_demo_account_that_enrolled_is_asked_for_the_code(make_user, demo_neighbourhood):
    user = make_user(Role.COMMITTEE_HEAD, demo_neighbourhood, username="demohead")
    _enrolled(user)
    assert _signed_in("demohead").get("/")["Location"].startswith("/accounts/2fa/verify/")


def test_the_head_resets_a_members_second_factor(head, make_user, neighbourhood):
    member = make_user(Role.COMMITTEE_STAFF, neighbourhood, username="staff1")
    _enrolled(member)
    member_client = _signed_in("staff1")
    assert member_client.post("/accounts/2fa/verify/", {"code": "abcd2345"}).status_code == 302
    assert member_client.get("/").status_code == 200

    head_client = Client()
    head_client.force_login(head)
    _enrolled(head)
    head_client.post("/accounts/2fa/verify/", {"code": "abcd2345"})
    page = head_client.get(f"/team/{member.pk}/").content.decode()
    assert "重置两步验证" in page
    response = head_client.post(f"/team/{member.pk}/2fa-reset/")
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=member).exists()
    assert not StaticDevice.objects.filter(user=member).exists()
    event = AuditEvent.objects.get(action="user.otp_reset")
    assert event.actor == head
    assert event.object_id == str(member.pk)
    assert event.changes["devices_removed"] == 2
    # The member's session verified with the old phone must set up a new one.
    assert member_client.get("/")["Location"].startswith("/accounts/2fa/setup/")


def test_a_head_cannot_reset_someone_outside_the_team(head, make_user, other_neighbourhood):
    outsider = make_user(Role.COMMITTEE_STAFF, other_neighbourhood, username="far")
    _enrolled(outsider)
    client = Client()
    client.force_login(head)
    _enrolled(head)
    client.post("/accounts/2fa/verify/", {"code": "abcd2345"})
    assert client.post(f"/team/{outsider.pk}/2fa-reset/").status_code == 404
    assert TOTPDevice.objects.filter(user=outsider).exists()


def test_removing_ones_own_second_factor_when_required_asks_to_enrol_again(head):
    _enrolled(head)
    client = _signed_in("head")
    client.post("/accounts/2fa/verify/", {"code": "abcd2345"})
    assert client.post("/accounts/2fa/remove/").status_code == 302
    assert AuditEvent.objects.filter(action="user.otp_remove").count() == 1
    assert client.get("/")["Location"].startswith("/accounts/2fa/setup/")


def test_new_backup_codes_replace_the_old_ones(head):
    _enrolled(head)
    client = _signed_in("head")
    client.post("/accounts/2fa/verify/", {"code": "abcd2345"})
    response = client.post("/accounts/2fa/backup-codes/")
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())
    assert len(codes) == 10
    assert set(StaticToken.objects.filter(device__user=head).values_list("token", flat=True)) == set(codes)


def test_the_api_treats_an_unverified_session_as_signed_out_but_tokens_work(head):
    _enrolled(head)
    client = _signed_in("head")
    assert client.get("/api/v1/zones").status_code == 401
    client.post("/accounts/2fa/verify/", {"code": "abcd2345"})
    assert client.get("/api/v1/zones").status_code != 401
    _token, key = services.api_token_create(actor=None, user=head)
    assert Client().get("/api/v1/zones", headers={"authorization": f"Bearer {key}"}).status_code == 200


def test_must_change_password_comes_after_the_second_factor(head):
    head.must_change_password = True
    head.save()
    client = _signed_in("head")
    assert client.get("/")["Location"].startswith("/accounts/2fa/setup/")
    assert client.get("/accounts/password/")["Location"].startswith("/accounts/2fa/setup/")
    assert client.get("/accounts/2fa/setup/").status_code == 200  # no redirect loop
