"""Volunteers pages: my shifts (claim, check in/out), the duty board, roster and scope, team
leaders, the certificate's totals, hours export, household application, today rows, the
bulletin section and the trend."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from openpyxl import load_workbook

from jiayuan.accounts import services as account_services
from jiayuan.core.extensions import today_items
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.screening import services as screening
from jiayuan.volunteers import reports, selectors, services
from jiayuan.volunteers.models import ShiftAssignment, Volunteer

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 4, 10, 6, 0, tzinfo=dt.UTC)  # 14:00 in Shanghai


@pytest.fixture
def vol_login(make_user, building, make_volunteer, household, team):
    user = make_user(Role.VOLUNTEER, building, username="xiaozhao")
    v = make_volunteer(household, team=team, name="小赵")
    services.volunteer_link_user(actor=None, volunteer=v, user=user)
    return user, v


@time_machine.travel(NOON, tick=False)
def test_volunteer_claims_checks_in_and_board_shows_on_duty(client, vol_login, make_shift, head):
    user, v = vol_login
    shift = make_shift(start=dt.time(13), end=dt.time(17), needed=2)
    client.force_login(user)
    page = client.get("/volunteers/").content.decode()
    assert "可认领的班次" in page and f"/volunteers/shifts/{shift.pk}/claim/" in page
    r = client.post(f"/volunteers/shifts/{shift.pk}/claim/", {"next": "/volunteers/"})
    assert r.status_code == 302
    a = ShiftAssignment.objects.get(shift=shift, volunteer=v)
    assert a.source == "claim" and a.status == "assigned"
    client.post(f"/volunteers/shifts/{shift.pk}/check-in/", {"next": "/volunteers/"})
    a.refresh_from_db()
    assert a.status == "checked_in" and a.checked_in_by == user
    board = selectors.duty_board(user=head)
    assert board["on_duty"] == 1 and board["short_shifts"] == 1
    client.force_login(head)
    page = client.get("/volunteers/").content.decode()
    assert "vol-short" in page and "小赵 · 在岗" in page
    assert "【门岗一队】" in page and "还缺 1 人" in page  # the WeChat text


@time_machine.travel(NOON, tick=False)
def test_claim_refused_names_the_reason(client, vol_login, make_shift, head, building):
    from jiayuan.control import services as control

    user, _v = vol_login
    shift = make_shift(start=dt.time(15), end=dt.time(17))
    control.zone_override_set(
        actor=head, level="sealed", reason="封控", expires_at=timezone.now() + dt.timedelta(days=1), building=building
    )
    client.force_login(user)
    r = client.post(f"/volunteers/shifts/{shift.pk}/claim/", {"next": "/volunteers/"}, follow=True)
    assert "封控区" in r.content.decode()
    assert not ShiftAssignment.objects.filter(shift=shift).exists()


@time_machine.travel(NOON, tick=False)
def test_team_leader_assigns_and_checks_in_for_the_team_only(
    client, make_user, building, make_volunteer, household, household2, team, make_shift, neighbourhood, head
):
    leader_user = make_user(Role.VOLUNTEER, building)
    leader = make_volunteer(household, team=team, leader=True)
    services.volunteer_link_user(actor=None, volunteer=leader, user=leader_user)
    member = make_volunteer(household2, team=team)
    other_team = services.team_create(actor=head, neighbourhood=neighbourhood, name="消杀队", kind="disinfection")
    other_shift = make_shift(start=dt.time(13), end=dt.time(17), t=other_team)
    shift = make_shift(start=dt.time(13), end=dt.time(17), needed=3)
    client.force_login(leader_user)
    assert client.post(f"/volunteers/shifts/{shift.pk}/", {"volunteer": member.pk}).status_code == 302
    assert ShiftAssignment.objects.get(shift=shift, volunteer=member).source == "leader"
    client.post(f"/volunteers/shifts/{shift.pk}/check-in/", {"volunteer": member.pk})
    assert ShiftAssignment.objects.get(shift=shift, volunteer=member).status == "checked_in"
    # Not a leader of the other team: no assigning there.
    assert client.post(f"/volunteers/shifts/{other_shift.pk}/", {"volunteer": member.pk}).status_code == 404
    assert client.post(f"/volunteers/shifts/{other_shift.pk}/check-in/", {"volunteer": member.pk}).status_code == 404


def test_roster_scope_and_reveal_is_audited(client, head, make_volunteer, household, make_user, other_neighbourhood):
    v = make_volunteer(name="钱志强", party_member=True, dual_registration_org="区税务局")
    client.force_login(head)
    page = client.get("/volunteers/people/").content.decode()
    assert "钱志强" in page and "区税务局" in page
    assert "13912340001" not in client.get(f"/volunteers/people/{v.pk}/").content.decode()
    r = client.post(f"/volunteers/people/{v.pk}/reveal/", follow=True)
    assert "13912340001" in r.content.decode()
    assert AuditEvent.objects.filter(action="volunteer.reveal", object_id=str(v.pk)).exists()
    outsider = make_user(Role.COMMITTEE_HEAD, other_neighbourhood)
    client.force_login(outsider)
    assert "钱志强" not in client.get("/volunteers/people/").content.decode()
    assert client.get(f"/volunteers/people/{v.pk}/").status_code == 404


def test_register_outsider_and_review_status(client, head):
    client.force_login(head)
    r = client.post(
        "/volunteers/people/new/",
        {"name": "孙丽", "phone": "13601710002", "skills": ["medical"], "party_member": "on"},
    )
    assert r.status_code == 302
    v = Volunteer.objects.get(name="孙丽")
    assert v.status == "active" and v.skills == ["medical"] and v.phone_last4 == "0002"
    client.post(f"/volunteers/people/{v.pk}/status/", {"status": "paused", "reason": "生病"})
    v.refresh_from_db()
    assert v.status == "paused"
    client.post(f"/volunteers/people/{v.pk}/status/", {"status": "applied"})
    v.refresh_from_db()
    assert v.status == "paused"  # not an allowed change


def test_certificate_totals_by_month(client, head, make_volunteer, household, make_shift):
    v = make_volunteer(household)
    tz = timezone.get_current_timezone()
    for day, start, end, out in (
        (dt.date(2026, 3, 30), dt.time(20), dt.time(2), dt.datetime(2026, 3, 31, 2, 0)),  # 6 h across midnight
        (dt.date(2026, 4, 2), dt.time(8), dt.time(12), dt.datetime(2026, 4, 2, 11, 30)),  # 3.5 h
    ):
        with time_machine.travel(timezone.make_aware(out, tz) + dt.timedelta(minutes=1), tick=False):
            s = make_shift(day=day, start=start, end=end)
            services.check_in(actor=head, shift=s, volunteer=v, at=s.starts_at)
            services.check_out(actor=head, shift=s, volunteer=v, at=timezone.make_aware(out, tz))
    cert = selectors.certificate(volunteer=v, start=dt.date(2026, 3, 1), end=dt.date(2026, 4, 30))
    assert cert["total"] == Decimal("9.50") and cert["shifts"] == 2
    assert cert["months"] == [("2026-03", Decimal("6.00")), ("2026-04", Decimal("3.50"))]
    client.force_login(head)
    page = client.get(f"/volunteers/people/{v.pk}/certificate/?start=2026-03-01&end=2026-04-30").content.decode()
    assert "志愿服务证明" in page and '<th id="cert-total">9.50</th>' in page
    assert AuditEvent.objects.filter(action="volunteer.certificate").exists()
    r = client.get("/volunteers/hours/?start=2026-03-01&end=2026-04-30&format=xlsx")
    ws = load_workbook(io.BytesIO(r.content)).worksheets[0]
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert [v.name, 2, 9.5] in values
    assert AuditEvent.objects.filter(action="volunteer.hours_export").exists()


def test_no_shows_are_marked_after_the_shift(head, make_volunteer, household, make_shift):
    v = make_volunteer(household)
    with time_machine.travel(NOON, tick=False):
        s = make_shift(start=dt.time(15), end=dt.time(16))
        services.shift_assign(actor=head, shift=s, volunteer=v)
        assert services.no_shows_mark(actor=head) == 0
    with time_machine.travel(NOON + dt.timedelta(hours=3), tick=False):
        assert services.no_shows_mark(actor=head) == 1
    assert ShiftAssignment.objects.get(shift=s).status == "no_show"


def test_household_applies_through_its_link(client, head, household, make_resident):
    r1 = make_resident(household, name="周一")
    link = account_services.household_link_issue(actor=head, household=household)
    token = account_services.household_link_token(link)
    home = client.get(f"/h/{token}/").content.decode()
    assert "报名当志愿者" in home
    r = client.post(
        f"/h/{token}/volunteers/apply/",
        {"resident": r1.pk, "skills": ["dialect"], "availability": "周末", "commitment_signed": "on"},
    )
    assert r.status_code == 302
    v = Volunteer.objects.get(resident=r1)
    assert v.status == "applied" and v.commitment_signed_at is not None
    assert AuditEvent.objects.filter(action="volunteer.apply").exists()
    assert "周一: 已申请" in client.get(f"/h/{token}/").content.decode()


@time_machine.travel(NOON, tick=False)
def test_today_rows_bulletin_and_trend(rf, head, vol_login, make_shift, make_volunteer, neighbourhood):
    user, v = vol_login
    s = make_shift(start=dt.time(13), end=dt.time(17), needed=3)
    services.shift_assign(actor=head, shift=s, volunteer=v)
    make_volunteer(status="applied")
    request = rf.get("/")
    request.user = user
    assert any(i.label == "个班次今天要上岗" and i.count == 1 for i in today_items(request))
    request.user = head
    labels = {i.label: i.count for i in today_items(request)}
    assert labels.get("个班次今明两天缺人") == 1 and labels.get("位志愿者报名待审核") == 1
    services.check_in(actor=head, shift=s, volunteer=v)
    with time_machine.travel(NOON + dt.timedelta(hours=2), tick=False):
        services.check_out(actor=head, shift=s, volunteer=v)
    section = reports.bulletin(neighbourhood, timezone.localdate())
    figures = {f.key: f for f in section.figures}
    assert figures["served"].value == 1 and figures["served"].previous == 0
    assert figures["hours"].value == 2.0
    day = timezone.localdate()
    assert reports.hours_trend(neighbourhood, day - dt.timedelta(days=2), day) == {day: 2.0}


def test_link_a_volunteer_login_and_team_settings(client, head, make_user, building, make_volunteer, team):
    login = make_user(Role.VOLUNTEER, building, username="xiaoli")
    staff_only = make_user(Role.COMMITTEE_STAFF, building.neighbourhood, username="staff2")
    v = make_volunteer(name="小李")
    client.force_login(head)
    page = client.get(f"/volunteers/people/{v.pk}/").content.decode()
    assert "xiaoli" in page and "staff2" not in page  # only accounts with the volunteer role
    assert client.post(f"/volunteers/people/{v.pk}/login/", {"user": staff_only.pk}).status_code == 404
    client.post(f"/volunteers/people/{v.pk}/login/", {"user": login.pk})
    v.refresh_from_db()
    assert v.user == login
    assert AuditEvent.objects.filter(action="volunteer.link_user", object_id=str(v.pk)).exists()
    client.post(f"/volunteers/teams/{team.pk}/settings/", {"requires_antigen_today": "on", "active": "on"})
    team.refresh_from_db()
    assert team.requires_antigen_today is True and team.active is True
    assert AuditEvent.objects.filter(action="volunteer.team_update").exists()
    client.force_login(login)  # a volunteer may not change a team
    assert client.post(f"/volunteers/teams/{team.pk}/settings/", {}).status_code == 404
    team.refresh_from_db()
    assert team.requires_antigen_today is True


def test_resident_page_shows_the_volunteer_card(client, head, make_volunteer, household, team):
    v = make_volunteer(household, team=team, name="吴天毅")
    client.force_login(head)
    page = client.get(f"/people/{v.resident_id}/").content.decode()
    assert 'id="volunteer-panel"' in page and "门岗一队" in page and f"/volunteers/people/{v.pk}/" in page


def test_board_keeps_last_nights_shift_and_pausing_frees_future_places(head, make_volunteer, household, make_shift):
    v = make_volunteer(household)
    yesterday = dt.date(2026, 4, 9)
    with time_machine.travel(dt.datetime(2026, 4, 9, 13, 0, tzinfo=dt.UTC), tick=False):  # 21:00 on the 9th
        night = make_shift(day=yesterday, start=dt.time(22), end=dt.time(6))
        later = make_shift(day=dt.date(2026, 4, 12), start=dt.time(8), end=dt.time(12))
        services.shift_assign(actor=head, shift=night, volunteer=v)
        services.shift_assign(actor=head, shift=later, volunteer=v)
    with time_machine.travel(dt.datetime(2026, 4, 9, 19, 0, tzinfo=dt.UTC), tick=False):  # 03:00 on the 10th
        services.check_in(actor=head, shift=night, volunteer=v)
        board = selectors.duty_board(user=head)
        assert [s.pk for t in board["teams"] for s in t["shifts"]] == [night.pk]
        assert board["on_duty"] == 1
        assert reports.served_by_neighbourhood([v.neighbourhood_id], yesterday) == {v.neighbourhood_id: 1}
        services.volunteer_set_status(actor=head, volunteer=v, status="paused")
    assert ShiftAssignment.objects.get(shift=later).status == "cancelled"
    assert ShiftAssignment.objects.get(shift=night).status == "checked_in"  # the running one stays


def test_edit_a_volunteer(client, head, make_volunteer):
    v = make_volunteer(name="钱志强")
    client.force_login(head)
    assert "修改信息" in client.get(f"/volunteers/people/{v.pk}/").content.decode()
    r = client.post(
        f"/volunteers/people/{v.pk}/edit/",
        {"skills": ["driving", "it"], "availability": "周末", "dual_registration_org": "区税务局", "phone": ""},
    )
    assert r.status_code == 302
    v.refresh_from_db()
    assert v.skills == ["driving", "it"] and v.dual_registration_org == "区税务局"
    assert v.phone == "13912340001"  # blank keeps the number
    assert AuditEvent.objects.filter(action="volunteer.update", object_id=str(v.pk)).exists()


@time_machine.travel(NOON, tick=False)
def test_the_shift_page_asks_whoever_checks_an_outsider_in_to_look_at_their_antigen(
    client, head, neighbourhood, make_shift, make_volunteer, household
):
    testing = services.team_create(
        actor=head, neighbourhood=neighbourhood, name="核酸保障", kind="testing", requires_antigen_today=True
    )
    outsider = make_volunteer(team=testing, name="外来老李")
    resident = make_volunteer(household, team=testing, name="本楼小王")
    shift = make_shift(start=dt.time(13), end=dt.time(16), t=testing)
    services.shift_assign(actor=head, shift=shift, volunteer=outsider)
    screening.antigen_report_submit(
        actor=head, resident=resident.resident, date=timezone.localdate(), result="negative"
    )
    services.shift_assign(actor=head, shift=shift, volunteer=resident)
    client.force_login(head)
    page = client.get(f"/volunteers/shifts/{shift.pk}/").content.decode()
    assert "本楼小王" in page and "外来老李" in page
    assert page.count('name="antigen_seen"') == 1  # the outsider's row only: a resident's report is on record
    url = f"/volunteers/shifts/{shift.pk}/check-in/"
    client.post(url, {"volunteer": outsider.pk})
    assert ShiftAssignment.objects.get(shift=shift, volunteer=outsider).status == "assigned"
    client.post(url, {"volunteer": outsider.pk, "antigen_seen": "1"})
    assert ShiftAssignment.objects.get(shift=shift, volunteer=outsider).status == "checked_in"
