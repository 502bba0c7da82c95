"""Changing a shift: its page (staff and the team's leader; nobody else), the API's PATCH, and the
rules — not once cancelled or ended, no new day or times once someone checked in, never fewer
people needed than are on it — each change audited with its before and after."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.volunteers import services
from jiayuan.volunteers.models import Shift

from .conftest import bearer

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 4, 10, 6, 0, tzinfo=dt.UTC)  # 14:00 in Shanghai
TODAY = dt.date(2026, 4, 10)


def _form(shift: Shift, **changes) -> dict:
    data = {
        "date": shift.date.isoformat(),
        "start": shift.start.strftime("%H:%M"),
        "end": shift.end.strftime("%H:%M"),
        "place_kind": shift.place_kind,
        "building": "",
        "place": shift.place,
        "needed": shift.needed,
        "note": shift.note,
    }
    return {**data, **changes}


@time_machine.travel(NOON, tick=False)
def test_staff_change_a_shift_on_its_page_and_the_change_is_audited(client, head, make_shift):
    shift = make_shift(start=dt.time(16), end=dt.time(20), needed=2, place="1号门")
    client.force_login(head)
    page = client.get(f"/volunteers/shifts/{shift.pk}/").content.decode()
    assert f"/volunteers/shifts/{shift.pk}/edit/" in page
    form = client.get(f"/volunteers/shifts/{shift.pk}/edit/").content.decode()
    assert 'value="16:00"' in form and "1号门" in form
    r = client.post(f"/volunteers/shifts/{shift.pk}/edit/", _form(shift, end="21:30", needed=3, place="2号门"))
    assert r.status_code == 302 and r.url == f"/volunteers/shifts/{shift.pk}/"
    shift.refresh_from_db()
    assert (shift.end, shift.needed, shift.place) == (dt.time(21, 30), 3, "2号门")
    assert shift.ends_at.hour == 13 and shift.ends_at.minute == 30  # 21:30 in Shanghai, in UTC
    event = AuditEvent.objects.get(action="volunteer.shift_update")
    assert event.changes == {"end": ["20:00:00", "21:30:00"], "needed": [2, 3], "place": ["1号门", "2号门"]}
    # Saving it unchanged records nothing.
    client.post(f"/volunteers/shifts/{shift.pk}/edit/", _form(shift))
    assert AuditEvent.objects.filter(action="volunteer.shift_update").count() == 1


@time_machine.travel(NOON, tick=False)
def test_only_who_schedules_the_shift_may_change_it(client, make_shift, make_user, building, team, make_volunteer):
    shift = make_shift(start=dt.time(16), end=dt.time(20))
    leader_user = make_user(Role.VOLUNTEER, building, username="duizhang")
    leader = make_volunteer(team=team, leader=True, name="队长")
    services.volunteer_link_user(actor=None, volunteer=leader, user=leader_user)
    member_user = make_user(Role.VOLUNTEER, building, username="duiyuan")
    member = make_volunteer(team=team, name="队员")
    services.volunteer_link_user(actor=None, volunteer=member, user=member_user)
    client.force_login(member_user)
    assert f"/volunteers/shifts/{shift.pk}/edit/" not in client.get(f"/volunteers/shifts/{shift.pk}/").content.decode()
    assert client.get(f"/volunteers/shifts/{shift.pk}/edit/").status_code == 404
    assert client.post(f"/volunteers/shifts/{shift.pk}/edit/", _form(shift, needed=5)).status_code == 404
    client.force_login(leader_user)
    assert client.get(f"/volunteers/shifts/{shift.pk}/edit/").status_code == 200
    client.post(f"/volunteers/shifts/{shift.pk}/edit/", _form(shift, needed=5))
    shift.refresh_from_db()
    assert shift.needed == 5


@time_machine.travel(NOON, tick=False)
def test_the_rules_of_a_change(head, make_shift, make_volunteer, household):
    v1, v2 = make_volunteer(household), make_volunteer(household)
    running = make_shift(start=dt.time(13), end=dt.time(17), needed=3)
    services.shift_assign(actor=head, shift=running, volunteer=v1)
    services.shift_assign(actor=head, shift=running, volunteer=v2)
    args = {"date": TODAY, "start": dt.time(13), "end": dt.time(17), "place": "1号门"}
    with pytest.raises(ValidationError) as exc:
        services.shift_update(actor=head, shift=running, needed=1, **args)
    assert "已安排 2 人" in exc.value.message_dict["needed"][0]
    services.check_in(actor=head, shift=running, volunteer=v1)
    with pytest.raises(services.ShiftRefused) as refused:
        services.shift_update(actor=head, shift=running, needed=3, **{**args, "end": dt.time(18)})
    assert refused.value.code == "checked_in"
    services.shift_update(actor=head, shift=running, needed=4, **args)  # not its times: fine
    ended = make_shift(start=dt.time(8), end=dt.time(12))
    with pytest.raises(services.ShiftRefused) as refused:
        services.shift_update(actor=head, shift=ended, needed=3, **{**args, "start": dt.time(8), "end": dt.time(12)})
    assert refused.value.code == "ended"
    cancelled = make_shift(start=dt.time(18), end=dt.time(20))
    services.shift_cancel(actor=head, shift=cancelled)
    with pytest.raises(services.ShiftRefused) as refused:
        services.shift_update(
            actor=head, shift=cancelled, needed=3, **{**args, "start": dt.time(18), "end": dt.time(20)}
        )
    assert refused.value.code == "cancelled"
    with pytest.raises(ValidationError) as exc:
        services.shift_update(
            actor=head,
            shift=make_shift(start=dt.time(18), end=dt.time(20)),
            needed=2,
            **{**args, "start": dt.time(9), "end": dt.time(9)},
        )
    assert "end" in exc.value.message_dict


@time_machine.travel(NOON, tick=False)
def test_the_api_changes_only_the_fields_given(
    client, head, make_shift, make_volunteer, household, make_user, other_neighbourhood
):
    shift = make_shift(start=dt.time(16), end=dt.time(20), needed=2, place="1号门", note="带喇叭")
    url = f"/api/v1/shifts/{shift.pk}"
    r = client.patch(url, {"needed": 4, "idempotency_key": "k1"}, content_type="application/json", **bearer(head))
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["needed"], body["place"], body["start"], body["end"]) == (4, "1号门", "16:00", "20:00")
    shift.refresh_from_db()
    assert shift.note == "带喇叭"
    # A retry is answered alike and stored once.
    again = client.patch(url, {"needed": 4, "idempotency_key": "k1"}, content_type="application/json", **bearer(head))
    assert again.json() == body and AuditEvent.objects.filter(action="volunteer.shift_update").count() == 1
    r = client.patch(url, {"needed": 0}, content_type="application/json", **bearer(head))
    assert r.status_code == 422
    v = make_volunteer(household)
    services.shift_assign(actor=head, shift=shift, volunteer=v)
    with time_machine.travel(NOON + dt.timedelta(hours=2, minutes=5), tick=False):
        services.check_in(actor=head, shift=shift, volunteer=v)
        r = client.patch(url, {"start": "15:00"}, content_type="application/json", **bearer(head))
        assert r.status_code == 409 and r.json()["code"] == "checked_in"
    outsider = make_user(Role.COMMITTEE_HEAD, other_neighbourhood, username="other-head")
    assert client.patch(url, {"needed": 3}, content_type="application/json", **bearer(outsider)).status_code == 404
