"""Medicine errands batched by hospital, medical trips, visit schedules and missed-visit alerts,
a visit finding becoming a request, today rows, the home card, the bulletin section and trends."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from jiayuan.care import selectors, services, today
from jiayuan.care.choices import Category, Status, Urgency, VisitFinding
from jiayuan.care.models import CareRequest, VisitPlan
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.places import services as places

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 4, 10, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai


def _errand(household, hospital, name="降压药"):
    req, _c = services.request_create(
        actor="household-link:1",
        household=household,
        category=Category.MEDICINE,
        urgency=Urgency.TODAY,
        items=[{"name": name, "quantity": "2盒", "hospital": hospital, "handed_over": "insurance_card"}],
    )
    return req


def test_errands_are_batched_by_hospital_into_one_run_with_a_printable_list(
    client, building, household, household2, head, volunteer, make_user, neighbourhood
):
    h3 = places.household_create(actor=None, building=building, unit="1", room="402")
    a = _errand(household, "中山医院", "氨氯地平")
    b = _errand(h3, "中山医院", "二甲双胍")
    c = _errand(household2, "第十人民医院", "速效救心丸")
    batches = services.errand_batches(selectors.open_medicine_errands(user=head))
    assert {k: {r.pk for r in v} for k, v in batches.items()} == {"中山医院": {a.pk, b.pk}, "第十人民医院": {c.pk}}
    run = services.errand_run_create(
        actor=head,
        neighbourhood_id=neighbourhood.pk,
        hospital="中山医院",
        volunteer=volunteer,
        requests=batches["中山医院"],
    )
    for req in (a, b):
        req.refresh_from_db()
        assert req.errand_run == run and req.assignee == volunteer and req.status == Status.ACCEPTED
    # Batched errands leave the open list; a volunteer who does not cover building 2 cannot take the other one.
    assert list(selectors.open_medicine_errands(user=head)) == [c]
    with pytest.raises(ValidationError):
        services.errand_run_create(
            actor=head, neighbourhood_id=neighbourhood.pk, hospital="第十人民医院", volunteer=volunteer, requests=[c]
        )
    with pytest.raises(ValidationError):  # already in a run
        services.errand_run_create(
            actor=head, neighbourhood_id=neighbourhood.pk, hospital="中山医院", volunteer=volunteer, requests=[a]
        )
    client.force_login(volunteer)
    page = client.get(f"/care/errands/{run.pk}/").content.decode()
    assert "氨氯地平" in page and "二甲双胍" in page and "速效救心丸" not in page and "data-print" in page
    xlsx = client.get(f"/care/errands/{run.pk}/xlsx/")
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    import io

    from openpyxl import load_workbook

    cells = [c for row in load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True) for c in row]
    assert "氨氯地平" in cells and "二甲双胍" in cells and "速效救心丸" not in cells
    assert AuditEvent.objects.filter(action="care.errand_run_export", object_id=str(run.pk)).exists()
    assert AuditEvent.objects.filter(action="care.errand_run_create").exists()


def test_the_errands_page_batches_and_creates_a_run(client, household, head, volunteer):
    _errand(household, "中山医院")
    client.force_login(head)
    page = client.get("/care/errands/").content.decode()
    assert "中山医院" in page
    r = client.post("/care/errands/", {"hospital": "中山医院", "volunteer": volunteer.pk})
    assert r.status_code == 302 and "/care/errands/" in r["Location"]
    assert CareRequest.objects.get().errand_run is not None


def test_cost_is_noted(household, head):
    from decimal import Decimal

    req = _errand(household, "中山医院")
    services.errand_cost(actor=head, request=req, cost=Decimal("56.50"), paid=True)
    req.refresh_from_db()
    assert req.cost == Decimal("56.50") and req.paid
    with pytest.raises(ValidationError):
        services.errand_cost(actor=head, request=req, cost=Decimal("-1"), paid=False)


def test_a_dialysis_schedule_lists_its_days_and_a_120_call_its_outcome(client, household, make_resident, head):
    patient = make_resident(household, name="透析张", tags=["dialysis"])
    schedule = services.schedule_create(
        actor=head, resident=patient, kind="dialysis", hospital="十院血透中心", weekdays=[1, 3, 5], time=dt.time(7, 30)
    )
    assert schedule.weekdays_label == "周一、周三、周五"
    monday, tuesday = dt.date(2026, 4, 6), dt.date(2026, 4, 7)
    assert services.trips_on([schedule], monday) == [schedule]
    assert services.trips_on([schedule], tuesday) == []
    with pytest.raises(ValidationError):
        services.schedule_create(
            actor=head, resident=patient, kind="dialysis", hospital="x", weekdays=[8], time=dt.time(7)
        )
    call = services.emergency_log(actor=head, resident=patient, reason="胸闷")
    services.emergency_outcome(actor=head, call=call, outcome="hospitalised", hospital="十院")
    call.refresh_from_db()
    assert call.outcome == "hospitalised"
    with time_machine.travel(dt.datetime(2026, 4, 6, 1, 0, tzinfo=dt.UTC), tick=False):
        client.force_login(head)
        page = client.get("/care/trips/").content.decode()
    assert "十院血透中心" in page and "已住院" in page


def test_visit_plans_follow_tags_and_settings_and_a_missed_visit_alerts(
    household, make_resident, head, staff, leader, client
):
    alone = make_resident(household, name="独居李", tags=["elderly_alone"])
    disabled = make_resident(household, name="残障王", tags=["disabled"])
    make_resident(household, name="普通人")
    s = services.settings_for(household.neighbourhood_id)
    s.visit_days = {"elderly_alone": 1, "elderly_no_family": 1, "disabled": 3, "bedridden": 1}
    s.save()
    with time_machine.travel(T0, tick=False):
        assert services.visit_plans_sync(actor=head, neighbourhood_id=household.neighbourhood_id) == 2
        assert services.visit_plans_sync(actor=head, neighbourhood_id=household.neighbourhood_id) == 0
    plans = {p.resident_id: p for p in VisitPlan.objects.all()}
    assert plans[alone.pk].every_days == 1 and plans[disabled.pk].every_days == 3
    daily = plans[alone.pk]
    services.visit_plan_update(actor=head, plan=daily, visitor=leader, every_days=1, mode="door")
    with time_machine.travel(T0 + dt.timedelta(days=1), tick=False):
        # Due today (one day after the plan started), not missed yet.
        assert not selectors.missed_visits(user=head).exists()
        rows = {str(i.label): i.count for i in today.today(_req(leader))}
        assert rows.get("位居民今天该走访") == 1
    with time_machine.travel(T0 + dt.timedelta(days=2), tick=False):
        assert list(selectors.missed_visits(user=head)) == [daily]
        rows = {str(i.label): (i.count, i.urgency) for i in today.today(_req(head))}
        assert rows["位困难居民超时未走访"] == (1, "warn")
        client.force_login(head)
        assert "超时未走访" in client.get("/care/visits/").content.decode()
        visit = services.visit_record(actor=leader, plan=daily, finding=VisitFinding.OK)
        assert visit.request is None
        assert not selectors.missed_visits(user=head).exists()
    with time_machine.travel(T0 + dt.timedelta(days=5), tick=False):
        # The disabled resident (every 3 days, started T0) is missed after day 3; the daily one after a day.
        assert set(selectors.missed_visits(user=head)) == {daily, plans[disabled.pk]}
        # "No answer" is no check: the plan stays missed.
        services.visit_record(actor=leader, plan=daily, finding=VisitFinding.NO_ANSWER)
        assert daily in set(selectors.missed_visits(user=head))


def _req(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_a_visit_finding_becomes_a_request_in_one_tap(client, household, make_resident, head, leader):
    alone = make_resident(household, name="独居赵", tags=["elderly_alone"])
    services.visit_plans_sync(actor=head, neighbourhood_id=household.neighbourhood_id)
    plan = VisitPlan.objects.get(resident=alone)
    client.force_login(leader)
    r = client.post(f"/care/visits/{plan.pk}/record/", {"finding": "medicine", "note": "降压药只剩两天"})
    assert r.status_code == 302
    req = CareRequest.objects.get()
    assert req.category == Category.MEDICINE and req.resident == alone and req.source == "visit"
    assert req.priority == "high"  # today + elderly alone
    assert "降压药只剩两天" in req.description


def test_overdue_requests_stand_out_on_the_owner_home_page(client, household, leader, head, staff):
    with time_machine.travel(T0, tick=False):
        req, _c = services.request_create(
            actor="l", household=household, category=Category.SHORTAGE, urgency=Urgency.EMERGENCY, description="没米了"
        )
        services.request_assign(actor=head, request=req, user=leader)
    with time_machine.travel(T0 + dt.timedelta(minutes=20), tick=False):
        client.force_login(leader)
        assert "我负责的诉求已超时" not in client.get("/").content.decode()
    with time_machine.travel(T0 + dt.timedelta(minutes=31), tick=False):
        client.force_login(leader)
        page = client.get("/").content.decode()
        assert "我负责的诉求已超时" in page and f"/care/{req.pk}/" in page
        rows = {str(i.label): (i.count, i.urgency) for i in today.today(_req(leader))}
        assert rows["条我负责的诉求已超时"] == (1, "bad")
        # Not the staff member's: they see it among the neighbourhood's overdue, not as theirs.
        rows = {str(i.label): (i.count, i.urgency) for i in today.today(_req(staff))}
        assert rows["条我负责的诉求已超时"][0] == 0 and rows["条诉求超时未办"] == (1, "warn")


def test_today_rows_count_in_a_constant_number_of_queries(household, head, django_assert_max_num_queries, make_user):
    for i in range(3):
        services.request_create(actor="l", household=household, category="other", urgency="today", description=f"事{i}")
    with django_assert_max_num_queries(14):
        rows = today.today(_req(head))
    assert {str(r.label): r.count for r in rows}["条新诉求待受理"] == 3
    for i in range(10):
        services.request_create(actor="l", household=household, category="other", urgency="today", description=f"多{i}")
    fresh = type(head).objects.get(pk=head.pk)
    with django_assert_max_num_queries(14):
        today.today(_req(fresh))
    street = make_user(Role.STREET_OFFICER, household.neighbourhood.street)
    assert today.today(_req(street)) == []


def test_bulletin_section_and_trends(household, head, neighbourhood, staff):
    day = dt.date(2026, 4, 10)
    with time_machine.travel(T0 - dt.timedelta(days=1), tick=False):
        services.request_create(actor="l", household=household, category="other", urgency="today", description="昨天")
    with time_machine.travel(T0, tick=False):
        for i in range(2):
            req, _c = services.request_create(
                actor="l", household=household, category="other", urgency="today", description=f"今{i}"
            )
        services.request_transition(actor=staff, request=req, status=Status.ACCEPTED)
        services.request_transition(actor=staff, request=req, status=Status.DONE)
        s = services.suggestion_submit(actor="l", household=household, text="想理发")
        services.group_reply(actor=head, group=s.group, text="周六理发")
    section = today.bulletin(neighbourhood, day)
    figures = {f.key: (f.value, f.previous) for f in section.figures}
    assert figures["raised"] == (2, 1)
    assert figures["handled"] == (1, 0)
    assert figures["answered"] == (1, 0)
    assert figures["open"][0] == 2
    assert any("周六理发" in str(line) for line in section.lines)
    assert today.trend_requests(neighbourhood, day - dt.timedelta(days=1), day) == {
        day - dt.timedelta(days=1): 1,
        day: 2,
    }
    assert today.trend_handled(neighbourhood, day - dt.timedelta(days=1), day) == {day: 1}
    assert today.bulletin(neighbourhood, dt.date(2026, 1, 1)) is not None  # open requests still counted


def test_the_trips_page_registers_a_dialysis_schedule_with_an_escort(
    client, staff, volunteer, household, make_resident
):
    patient = make_resident(household, name="透析刘", tags=["dialysis"])
    client.force_login(staff)
    r = client.post(
        "/care/trips/",
        {
            "form": "schedule",
            "s-resident": patient.pk,
            "s-kind": "dialysis",
            "s-hospital": "十院",
            "s-weekdays": ["2", "4", "6"],
            "s-time": "07:00",
            "s-escort": volunteer.pk,
            "s-pass_note": "就医通行证",
        },
    )
    assert r.status_code == 302
    from jiayuan.care.models import TreatmentSchedule

    schedule = TreatmentSchedule.objects.get()
    assert schedule.weekdays == [2, 4, 6] and schedule.escort == volunteer and schedule.resident == patient


def test_a_request_given_to_a_team_is_each_members_own(household, head, make_user, building):
    from jiayuan.volunteers.models import Team, TeamMembership, Volunteer

    member = make_user(Role.VOLUNTEER, building, username="teammate")
    team = Team.objects.create(neighbourhood_id=household.neighbourhood_id, name="红色跑腿队")
    vol = Volunteer.objects.create(neighbourhood_id=household.neighbourhood_id, name="队员", user=member)
    TeamMembership.objects.create(neighbourhood_id=household.neighbourhood_id, team=team, volunteer=vol)
    req, _c = services.request_create(
        actor="l", household=household, category="other", urgency="today", description="x"
    )
    services.request_assign(actor=head, request=req, team=team)
    assert list(selectors.request_list(user=member, mine=True)) == [req]
