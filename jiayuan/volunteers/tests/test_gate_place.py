"""Shifts placed at a real gate (issue #11): the shift form offers the neighbourhood's gates and
stores the ref; the gate's page and 今日门岗 show 今日值守 from the volunteer shifts, red when a
started shift has fewer people checked in than it needs; the staffing API (shape, date, scope);
the demo's gate shift. Real apps together, through ``core.extensions`` only."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.exceptions import ValidationError

from jiayuan.accounts.services import api_token_create
from jiayuan.core import extensions
from jiayuan.core.permissions import Role
from jiayuan.gates import services as gates
from jiayuan.places import services as places
from jiayuan.volunteers import demo, services
from jiayuan.volunteers.models import Shift

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 4, 10, 6, 0, tzinfo=dt.UTC)  # 14:00 in Shanghai
DAY = dt.date(2026, 4, 10)


def bearer(user):
    _token, key = api_token_create(actor=None, user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.fixture
def gate(compound):
    return gates.gate_create(actor=None, compound=compound, name="南门")


@pytest.fixture
def other_compound_gate(neighbourhood):
    c = places.compound_create(actor=None, neighbourhood=neighbourhood, name="红御苑")
    return gates.gate_create(actor=None, compound=c, name="北门")


@pytest.fixture
def far_gate(other_neighbourhood):
    c = places.compound_create(actor=None, neighbourhood=other_neighbourhood, name="远方苑")
    return gates.gate_create(actor=None, compound=c, name="西门")


@pytest.fixture
def guard(make_user, compound):
    return make_user(Role.GATE_GUARD, compound, username="guard")


def at_gate(head, team, gate, day=DAY, start=8, end=20, needed=3):
    """A shift of ``team`` placed at ``gate``."""
    return services.shift_create(
        actor=head,
        team=team,
        date=day,
        start=dt.time(start),
        end=dt.time(end),
        needed=needed,
        place_kind="gate",
        place_ref=f"gate:{gate.pk}",
    )


@pytest.fixture
def gate_shift(head, team, gate, make_volunteer):
    """08:00–20:00 on DAY at the gate, three needed, 王建国 checked in, 李四 assigned only."""
    with time_machine.travel(NOON, tick=False):
        shift = at_gate(head, team, gate)
        wang = make_volunteer(team=team, name="王建国")
        li = make_volunteer(team=team, name="李四")
        services.shift_assign(actor=head, shift=shift, volunteer=wang)
        services.shift_assign(actor=head, shift=shift, volunteer=li)
        services.check_in(actor=head, shift=shift, volunteer=wang, at=shift.starts_at + dt.timedelta(minutes=3))
    return shift


# --- The shift form and the service --------------------------------------------------------------


def test_gates_provide_their_neighbourhoods_gates_as_places(gate, other_compound_gate, far_gate, neighbourhood):
    choices = extensions.place_choices("gate", neighbourhood.pk)
    assert choices == [(f"gate:{gate.pk}", "泰和苑 南门"), (f"gate:{other_compound_gate.pk}", "红御苑 北门")]
    assert extensions.place_choices("route", neighbourhood.pk) == []


def test_shift_form_offers_the_gates_and_stores_the_ref(client, head, team, gate, far_gate):
    client.force_login(head)
    page = client.get(f"/volunteers/teams/{team.pk}/").content.decode()
    assert f'value="gate:{gate.pk}"' in page and "泰和苑 南门" in page
    assert f"gate:{far_gate.pk}" not in page  # another neighbourhood's gate is not offered
    form = {"date": "2026-04-10", "start": "08:00", "end": "12:00", "place_kind": "gate", "needed": 2}
    # A gate shift must pick a gate; free text is not enough.
    r = client.post(f"/volunteers/teams/{team.pk}/", {**form, "place": "1号门"})
    assert r.status_code == 200 and "请选择门岗" in r.content.decode()
    assert not Shift.objects.exists()
    r = client.post(f"/volunteers/teams/{team.pk}/", {**form, "place_ref": f"gate:{gate.pk}"})
    assert r.status_code == 302
    shift = Shift.objects.get()
    assert (shift.place_kind, shift.place_ref, shift.place) == ("gate", f"gate:{gate.pk}", "泰和苑 南门")
    # A gate picked for another kind of place is refused.
    r = client.post(
        f"/volunteers/teams/{team.pk}/",
        {**form, "place_kind": "route", "place": "一圈", "place_ref": f"gate:{gate.pk}"},
    )
    assert r.status_code == 200 and "所选地点与地点类型不符" in r.content.decode()


def test_service_refuses_a_gate_of_another_neighbourhood(head, team, far_gate):
    with pytest.raises(ValidationError) as exc:
        at_gate(head, team, far_gate)
    assert "place_ref" in exc.value.message_dict


def test_shift_api_takes_and_answers_the_place_ref(client, head, team, gate):
    body = {
        "team": team.pk,
        "date": "2026-04-10",
        "start": "08:00",
        "end": "12:00",
        "needed": 2,
        "place_kind": "gate",
        "place_ref": f"gate:{gate.pk}",
    }
    r = client.post("/api/v1/shifts", body, content_type="application/json", **bearer(head))
    assert r.status_code == 201, r.content
    assert r.json()["place_ref"] == f"gate:{gate.pk}" and r.json()["place"] == "泰和苑 南门"


# --- 今日值守 on the gate pages ------------------------------------------------------------------


@time_machine.travel(NOON, tick=False)
def test_gate_page_shows_the_shift_its_volunteers_and_short_in_red(client, guard, gate, gate_shift):
    client.force_login(guard)
    page = client.get(f"/gates/{gate.pk}/").content.decode()
    assert "今日值守" in page and "门岗一队" in page and "08:00–20:00" in page
    assert "王**" in page and "李*" in page and "王建国" not in page  # names masked
    assert "在岗 1/3" in page
    assert "duty-short" in page and "缺 2 人" in page
    # The guard's 今日门岗 list shows it too.
    index = client.get("/gates/").content.decode()
    assert "今日值守" in index and "门岗一队" in index and "缺 2 人" in index


def test_not_short_before_the_shift_starts(client, guard, gate, gate_shift):
    with time_machine.travel(dt.datetime(2026, 4, 9, 23, 0, tzinfo=dt.UTC), tick=False):  # 07:00 local
        client.force_login(guard)
        page = client.get(f"/gates/{gate.pk}/").content.decode()
    assert "门岗一队" in page and "duty-short" not in page and "缺 " not in page


@time_machine.travel(NOON, tick=False)
def test_empty_state_without_shift_and_cancelled_shift(client, guard, gate, gate_shift, head):
    services.shift_cancel(actor=head, shift=gate_shift)
    client.force_login(guard)
    page = client.get(f"/gates/{gate.pk}/").content.decode()
    assert "今天没有排班(志愿者队伍未给此门岗排班)" in page and "门岗一队" not in page


@time_machine.travel(NOON, tick=False)
def test_last_nights_shift_is_on_todays_list(head, team, gate):
    at_gate(head, team, gate, day=DAY - dt.timedelta(days=1), start=20, end=8, needed=1)
    (shift,) = extensions.staffing("gate", f"gate:{gate.pk}", DAY)
    assert shift.team == "门岗一队" and shift.needed == 1 and shift.volunteers == ()
    assert extensions.staffing("gate", f"gate:{gate.pk}", DAY + dt.timedelta(days=1)) == []


# --- The API -----------------------------------------------------------------------------------


@time_machine.travel(NOON, tick=False)
def test_staffing_api_shape_and_date(client, guard, gate, gate_shift):
    r = client.get(f"/api/v1/gates/{gate.pk}/staffing", **bearer(guard))
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["count"] == 1
    (item,) = body["items"]
    assert set(item) >= {"team", "start", "end", "needed", "checked_in", "volunteers"}
    assert (item["team"], item["needed"], item["checked_in"], item["missing"]) == ("门岗一队", 3, 1, 2)
    assert item["volunteers"] == [{"name": "王**", "checked_in": True}, {"name": "李*", "checked_in": False}]
    assert item["start"].startswith("2026-04-10T") or item["start"].startswith("2026-04-10 ")
    r = client.get(f"/api/v1/gates/{gate.pk}/staffing?date=2026-04-11", **bearer(guard))
    assert r.json() == {"items": [], "count": 0}
    assert client.get(f"/api/v1/gates/{gate.pk}/staffing?date=2026-04-10", **bearer(guard)).json()["count"] == 1
    assert client.get(f"/api/v1/gates/{gate.pk}/staffing?date=10/04/2026", **bearer(guard)).status_code == 422


def test_staffing_api_404_outside_scope(client, guard, head, gate, other_compound_gate, far_gate):
    # A guard of compound A does not read compound B's gate; the head not another neighbourhood's.
    assert client.get(f"/api/v1/gates/{other_compound_gate.pk}/staffing", **bearer(guard)).status_code == 404
    assert client.get(f"/api/v1/gates/{far_gate.pk}/staffing", **bearer(head)).status_code == 404
    assert client.get(f"/api/v1/gates/{other_compound_gate.pk}/staffing", **bearer(head)).status_code == 200
    assert client.get("/api/v1/gates/999999/staffing", **bearer(head)).status_code == 404


@time_machine.travel(NOON, tick=False)
def test_guard_does_not_see_another_compounds_gate_staffing(client, guard, head, team, other_compound_gate):
    at_gate(head, team, other_compound_gate, needed=2)
    client.force_login(guard)
    assert client.get(f"/gates/{other_compound_gate.pk}/").status_code == 404
    assert "红御苑" not in client.get("/gates/").content.decode()
    client.force_login(head)
    assert "门岗一队" in client.get(f"/gates/{other_compound_gate.pk}/").content.decode()


# --- The demo ------------------------------------------------------------------------------------


def test_demo_gate_shift_is_placed_at_a_real_gate(head, neighbourhood, team, gate, make_volunteer):
    make_volunteer(team=team)
    make_volunteer(team=team)
    out = io.StringIO()
    demo.load_gate_shift(neighbourhood=neighbourhood, stdout=out)
    shift = Shift.objects.get(place_ref=f"gate:{gate.pk}")
    assert shift.team == team and shift.place == "泰和苑 南门" and shift.assignments.count() == 2
    demo.load_gate_shift(neighbourhood=neighbourhood, stdout=out)  # idempotent
    assert Shift.objects.filter(place_kind="gate").exclude(place_ref="").count() == 1
