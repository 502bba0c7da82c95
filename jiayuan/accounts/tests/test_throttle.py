"""Wrong passwords are counted per account and per address, refused past the limit with a clear
message, and every failure is audited."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from jiayuan.accounts import services
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role

LOGIN = "/accounts/login/"
LOCKED = "登录失败次数过多"


def _post(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password})


@pytest.fixture
def limits(settings):
    settings.JIAYUAN_LOGIN_MAX_FAILURES_PER_ACCOUNT = 5
    settings.JIAYUAN_LOGIN_MAX_FAILURES_PER_ADDRESS = 30
    settings.JIAYUAN_LOGIN_LOCK_SECONDS = 900
    return settings


@pytest.fixture
def staff(make_user, neighbourhood):
    return make_user(Role.COMMITTEE_STAFF, neighbourhood, username="li", password="right-pass-1")


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(client, limits, staff):
    for _ in range(4):
        response = _post(client, "li", "wrong")
        assert response.status_code == 200
        assert "用户名或密码错误" in response.content.decode()
    response = _post(client, "li", "wrong")  # the 5th: locked from now on
    assert LOCKED in response.content.decode()
    assert "15 分钟" in response.content.decode()

    response = _post(client, "li", "right-pass-1")
    assert response.status_code == 200
    assert LOCKED in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The other way in (the admin's form, client.login) goes through the same count.
    assert Client().login(username="li", password="right-pass-1") is False

    failed = AuditEvent.objects.filter(action="user.login_failed").order_by("pk")
    assert failed.count() == 5
    last = failed.last()
    assert last.object_repr == "li"
    assert last.object_id == str(staff.pk)
    assert last.neighbourhood_id == staff.assignments.get().neighbourhood_id
    assert last.ip == "127.0.0.1"
    assert last.actor is None
    assert last.actor_label == "127.0.0.1"  # the 操作记录 reads "127.0.0.1 登录失败 · li"
    assert last.changes["account_failures"] == 5
    assert last.changes["locked"] is True
    assert AuditEvent.objects.filter(action="user.login_throttled", object_repr="li").count() == 2


def test_the_lock_ends_after_the_lock_period(client, limits, staff):
    for _ in range(5):
        _post(client, "li", "wrong")
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=901)):
        response = _post(client, "li", "right-pass-1")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(staff.pk)


def test_a_success_clears_the_accounts_count(client, limits, staff):
    for _ in range(4):
        _post(client, "li", "wrong")
    assert _post(client, "li", "right-pass-1").status_code == 302
    client.logout()
    for _ in range(4):
        _post(client, "li", "wrong")
    assert _post(client, "li", "right-pass-1").status_code == 302


def test_the_user_name_is_counted_whatever_its_case(client, limits, staff):
    for name in ("li", "LI", "Li ", "lI", "li"):
        _post(client, name, "wrong")
    assert LOCKED in _post(client, "li", "right-pass-1").content.decode()


def test_one_address_trying_many_accounts_is_locked_but_others_are_not(limits, staff):
    limits.JIAYUAN_LOGIN_MAX_FAILURES_PER_ADDRESS = 3
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for name in ("a1", "a2", "a3"):
        _post(attacker, name, "guess")
    response = _post(attacker, "li", "right-pass-1")
    assert LOCKED in response.content.decode()
    unknown = AuditEvent.objects.filter(action="user.login_failed", object_repr="a1").get()
    assert unknown.changes["known_user"] is False
    assert unknown.object_id == ""
    # The office's own address is not affected.
    office = Client(REMOTE_ADDR="198.51.100.7")
    assert _post(office, "li", "right-pass-1").status_code == 302


def test_the_heads_password_reset_unlocks_the_member(client, limits, staff, head):
    for _ in range(5):
        _post(client, "li", "wrong")
    password = services.team_password_reset(actor=head, user=staff)
    response = _post(Client(), "li", password)
    assert response.status_code == 302


def test_limits_come_from_settings(client, limits, staff):
    limits.JIAYUAN_LOGIN_MAX_FAILURES_PER_ACCOUNT = 2
    _post(client, "li", "wrong")
    assert LOCKED in _post(client, "li", "wrong").content.decode()


def test_the_login_page_names_no_reason_for_an_unknown_user(client, limits, db):
    body = _post(client, "nobody", "x").content.decode()
    assert "用户名或密码错误" in body
    assert LOCKED not in body


def test_the_head_reads_failed_sign_ins_on_the_teams_accounts_in_the_audit_log(client, limits, staff, head):
    _post(client, "li", "wrong")
    reader = Client()
    reader.force_login(head)
    body = reader.get("/audit/").content.decode()
    assert "登录失败(密码错误或无此用户)" in body
    assert "127.0.0.1" in body
