"""Review of the control app: scope holes, the time-zone day boundary, voiding a case entered by
mistake, the home alert panel, override history, alerts without a quarantine, and the query
count of the isolation map and the summary table at a neighbourhood's size."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from jiayuan.accounts.services import api_token_create, household_link_issue, household_link_token
from jiayuan.control import services, zones
from jiayuan.control.choices import (
    CaseSource,
    CaseStatus,
    ContactKind,
    QuarantineReason,
    QuarantineStatus,
    Slot,
    ZoneLevel,
)
from jiayuan.control.models import Case, CaseEvent, HealthCheck, Quarantine, ZoneChange, ZoneStatus
from jiayuan.control.selectors import zone_levels
from jiayuan.control.tests.conftest import TODAY, at
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.places.models import Building, Household


def _auth(user):
    _t, key = api_token_create(actor=None, user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def _case(resident, detected_on=TODAY, actor=None):
    return services.case_record(actor=actor, resident=resident, detected_on=detected_on, source=CaseSource.PCR_ROUND)


@pytest.fixture
def two_buildings(frozen, building, building2, household, household2, make_resident):
    """A quarantined resident in each of two buildings of the same compound."""
    a = make_resident(household, name="甲楼人", phone="13800001111")
    b = make_resident(household2, name="乙楼人", phone="13800002222")
    qa = services.quarantine_start(actor=None, reason=QuarantineReason.RETURNEE_RISK_AREA, resident=a)
    qb = services.quarantine_start(actor=None, reason=QuarantineReason.RETURNEE_RISK_AREA, resident=b)
    return {"a": a, "b": b, "qa": qa, "qb": qb}


# --- Day boundaries in Asia/Shanghai (the UTC date is still yesterday after midnight) ----------


@pytest.mark.parametrize(
    ("day", "hour", "minute", "level"),
    [
        (6, 23, 59, ZoneLevel.SEALED),  # 15:59 UTC on the same date
        (7, 0, 1, ZoneLevel.CONTROLLED),  # 16:01 UTC on day 6: a UTC date would still say sealed
        (13, 23, 59, ZoneLevel.CONTROLLED),
        (14, 0, 1, ZoneLevel.PRECAUTION),
    ],
)
def test_levels_change_at_shanghai_midnight_not_utc_midnight(
    time_machine, building, resident, day, hour, minute, level
):
    d = TODAY - dt.timedelta(days=20)
    time_machine.move_to(at(d), tick=False)
    _case(resident, d)
    moment = at(d + dt.timedelta(days=day), hour=hour).replace(minute=minute)
    time_machine.move_to(moment, tick=False)
    # Before the daily recompute (reads derive the level) and after it (the stored row).
    assert zone_levels(building_ids=[building.pk])[building.pk] == level
    zones.zone_recompute(actor=None)
    assert ZoneStatus.objects.get(building=building).level == level


def test_override_expiry_is_exact_to_the_minute_in_shanghai_time(frozen, head, building):
    expires = at(TODAY + dt.timedelta(days=1), hour=0)  # midnight Shanghai = 16:00 UTC the day before
    services.zone_override_set(
        actor=head, building=building, level=ZoneLevel.SEALED, reason="先行封控", expires_at=expires
    )
    frozen.move_to(expires - dt.timedelta(minutes=1), tick=False)
    assert zone_levels(building_ids=[building.pk])[building.pk] == ZoneLevel.SEALED
    frozen.move_to(expires, tick=False)
    assert zone_levels(building_ids=[building.pk])[building.pk] == ZoneLevel.PRECAUTION


def test_override_form_reads_the_expiry_as_shanghai_time(client, head, frozen, building):
    client.force_login(head)
    url = reverse("control:zone", args=["building", building.pk])
    response = client.post(url, {"level": "sealed", "reason": "先行封控", "expires_at": "2022-04-21T00:00"})
    assert response.status_code == 302
    from jiayuan.control.models import ZoneOverride

    assert ZoneOverride.objects.get().expires_at == at(dt.date(2022, 4, 21), hour=0)


def test_override_end_and_expiry_are_in_the_history(frozen, head, building, resident):
    _case(resident, TODAY - dt.timedelta(days=1))
    ov = services.zone_override_set(
        actor=head,
        building=building,
        level=ZoneLevel.CONTROLLED,
        reason="复核",
        expires_at=timezone.now() + dt.timedelta(hours=2),
    )
    services.zone_override_end(actor=head, override=ov)
    last = ZoneChange.objects.filter(building=building).order_by("-id").first()
    assert (last.from_level, last.to_level) == (ZoneLevel.CONTROLLED, ZoneLevel.SEALED)
    assert last.cause.startswith("人工调整撤销")
    services.zone_override_set(
        actor=head,
        building=building,
        level=ZoneLevel.PRECAUTION,
        reason="误报",
        expires_at=timezone.now() + dt.timedelta(hours=2),
    )
    frozen.move_to(timezone.now() + dt.timedelta(hours=3), tick=False)
    zones.zone_recompute(actor=None)
    last = ZoneChange.objects.filter(building=building).order_by("-id").first()
    assert (last.from_level, last.to_level) == (ZoneLevel.PRECAUTION, ZoneLevel.SEALED)
    assert last.cause.startswith("人工调整到期")


# --- Voiding a case entered by mistake ---------------------------------------------------------


def test_void_case_restores_the_zone_keeps_the_record_and_audits(
    frozen, head, compound, building, household, resident, make_resident
):
    case = _case(resident, TODAY - dt.timedelta(days=1), actor=head)
    contact_person = make_resident(household, name="同户人")
    contact = services.contact_add(actor=head, case=case, kind=ContactKind.CLOSE, resident=contact_person)
    assert zone_levels(building_ids=[building.pk])[building.pk] == ZoneLevel.SEALED

    with pytest.raises(ValidationError) as exc:
        services.case_void(actor=head, case=case, reason=" ")
    assert exc.value.message_dict == {"reason": ["作废病例必须填写原因"]}

    services.case_void(actor=head, case=case, reason="登记错人")
    case.refresh_from_db()
    assert case.status == CaseStatus.VOIDED
    assert zone_levels(building_ids=[building.pk])[building.pk] == ZoneLevel.PRECAUTION
    assert ZoneStatus.objects.get(compound=compound).level == ZoneLevel.PRECAUTION
    assert CaseEvent.objects.filter(case=case, to_status=CaseStatus.VOIDED, note="登记错人").exists()
    assert AuditEvent.objects.filter(action="case.void", object_id=str(case.pk)).exists()
    # Contacts' quarantines stay unless asked: the committee decides.
    assert contact.quarantines.get().status == QuarantineStatus.ACTIVE
    # Final: no second void, no transition; a new case for the same resident may be opened.
    with pytest.raises(ValidationError):
        services.case_void(actor=head, case=case, reason="again")
    with pytest.raises(ValidationError):
        services.case_transition(actor=head, case=case, to_status=CaseStatus.HOSPITAL)
    new = _case(resident, TODAY)
    assert new.pk != case.pk and new.status == CaseStatus.AT_HOME


def test_void_case_can_release_its_contacts_early(frozen, head, household, resident, make_resident):
    case = _case(resident)
    contact = services.contact_add(actor=head, case=case, resident=make_resident(household, name="同户人"))
    outsider = services.contact_add(actor=head, case=case, name="快递员", kind=ContactKind.SECONDARY)
    services.case_void(actor=head, case=case, reason="抗原误报, 核酸阴性", release_contacts=True)
    for c in (contact, outsider):
        q = c.quarantines.get()
        assert q.status == QuarantineStatus.RELEASED and q.early_release
        assert "病例误登记已作废" in q.end_reason
    assert AuditEvent.objects.filter(action="quarantine.release_early").count() == 2


def test_voided_case_leaves_summary_and_map(client, head, frozen, building, neighbourhood, resident):
    case = _case(resident)
    services.case_void(actor=head, case=case, reason="登记错人")
    client.force_login(head)
    table = client.get(reverse("control:summary") + f"?neighbourhood={neighbourhood.pk}").context["table"]
    cols = [c for c, _l in table["columns"]]
    assert table["total"][cols.index("cases")] == 0
    assert "case_voided" not in cols
    page = client.get(reverse("control:map")).content.decode()
    assert 'data-mark="positive"' not in page


def test_void_page_for_manage_cases_only(client, head, make_user, frozen, building, neighbourhood, resident):
    case = _case(resident)
    url = reverse("control:case", args=[case.pk])
    leader = make_user(Role.BUILDING_LEADER, building)
    client.force_login(leader)
    assert client.get(url).status_code == 200
    assert client.post(url, {"v-reason": "x"}).status_code == 404
    client.force_login(head)
    response = client.post(url, {"v-reason": ""})
    assert response.status_code == 200 and "这个字段是必填项" in response.content.decode()
    assert client.post(url, {"v-reason": "登记错人"}).status_code == 302
    page = client.get(url).content.decode()
    assert 'id="voided"' in page and 'id="void"' not in page
    assert client.post(url, {"v-reason": "again"}).status_code == 404


def test_void_api_scope_and_validation(client, head, make_user, frozen, other_neighbourhood, building, resident):
    case = _case(resident)
    url = f"/api/v1/cases/{case.pk}/void"
    outsider = _auth(make_user(Role.COMMITTEE_HEAD, other_neighbourhood))
    assert client.post(url, {"reason": "x"}, content_type="application/json", **outsider).status_code == 404
    leader = _auth(make_user(Role.BUILDING_LEADER, building))
    assert client.post(url, {"reason": "x"}, content_type="application/json", **leader).status_code == 403
    r = client.post(url, {"reason": ""}, content_type="application/json", **_auth(head))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    r = client.post(url, {"reason": "登记错人"}, content_type="application/json", **_auth(head))
    assert r.status_code == 200 and r.json()["status"] == "voided"
    r = client.post(url, {"reason": "again"}, content_type="application/json", **_auth(head))
    assert r.status_code == 422


# --- Alerts and the home panel -----------------------------------------------------------------


def test_fever_of_a_resident_without_quarantine_does_not_break_pages(client, head, frozen, resident):
    """A check posted for a resident (no quarantine) used to link to quarantine None: a 500."""
    check, _ = services.health_check_record(
        actor=head, resident=resident, on=TODAY, slot=Slot.MORNING, temperature="38.1"
    )
    assert check.quarantine_id is None and check.alert
    client.force_login(head)
    home = client.get(reverse("core:home"))
    assert home.status_code == 200 and "王阳" in home.content.decode() and "38.1" in home.content.decode()
    checks = client.get(reverse("control:checks"))
    assert checks.status_code == 200 and "38.1" in checks.content.decode()


def test_home_panel_shows_todays_fevers_and_releases_due_today(client, head, frozen, two_buildings):
    qa, qb = two_buildings["qa"], two_buildings["qb"]
    Quarantine.objects.filter(pk=qa.pk).update(planned_end=TODAY, start_on=TODAY - dt.timedelta(days=14))  # due today
    qa.refresh_from_db()
    Quarantine.objects.filter(pk=qb.pk).update(planned_end=TODAY + dt.timedelta(days=1))  # not yet
    services.health_check_record(
        actor=None, quarantine=qb, on=TODAY, slot=Slot.MORNING, temperature="36.6", symptoms=["cough"]
    )
    services.health_check_record(
        actor=None, quarantine=qa, on=TODAY - dt.timedelta(days=1), slot=Slot.MORNING, temperature="38.5"
    )  # yesterday's fever is not today's alert
    client.force_login(head)
    page = client.get(reverse("core:home")).content.decode()
    fevers = page.split('id="control-fevers"')[1].split("</ul>")[0]
    due = page.split('id="control-due"')[1].split("</ul>")[0]
    assert "乙楼人" in fevers and "咳嗽" in fevers and "甲楼人" not in fevers and "38.5" not in fevers
    assert "甲楼人" in due and "乙楼人" not in due
    assert "2 人今日健康监测未完成" in page  # qa has none today; qb has only the morning


def test_home_panel_is_scoped_to_the_leaders_building(client, make_user, frozen, building, two_buildings):
    services.health_check_record(
        actor=None, quarantine=two_buildings["qb"], on=TODAY, slot=Slot.MORNING, temperature="38.0"
    )
    Quarantine.objects.filter(pk=two_buildings["qb"].pk).update(planned_end=TODAY)
    client.force_login(make_user(Role.BUILDING_LEADER, building))
    page = client.get(reverse("core:home")).content.decode()
    assert "乙楼人" not in page and "38.0" not in page


# --- Scope holes -------------------------------------------------------------------------------


def test_household_link_cannot_post_for_another_households_resident(client, frozen, household, two_buildings):
    token = household_link_token(household_link_issue(actor=None, household=household))
    url = reverse("control_household:health", args=[token])
    r = client.post(url, {"quarantine": two_buildings["qb"].pk, "slot": "morning", "temperature": "36.5"})
    assert r.status_code == 404
    r = client.post(url, {"quarantine": two_buildings["qa"].pk, "slot": "morning", "temperature": "36.5"})
    assert r.status_code == 302
    assert list(HealthCheck.objects.values_list("quarantine_id", flat=True)) == [two_buildings["qa"].pk]
    for bad in (
        {"quarantine": "x"},
        {"quarantine": str(2**70)},
        {},
        {"quarantine": two_buildings["qa"].pk, "slot": "晚上", "temperature": "热"},
    ):
        assert client.post(url, bad).status_code in (302, 404)


def test_building_leader_cannot_reach_another_buildings_quarantines(
    client, make_user, frozen, building, building2, two_buildings
):
    leader = make_user(Role.BUILDING_LEADER, building)
    auth = _auth(leader)
    qb = two_buildings["qb"]
    body = client.get("/api/v1/quarantines", **auth).json()
    assert [i["name"] for i in body["items"]] == ["甲楼人"]
    assert client.get(f"/api/v1/quarantines?building_id={building2.pk}", **auth).json()["count"] == 0
    payload = {"quarantine": qb.pk, "date": TODAY.isoformat(), "slot": "morning", "temperature": "36.5"}
    assert client.post("/api/v1/health-checks", payload, content_type="application/json", **auth).status_code == 404
    payload = {"resident": two_buildings["b"].pk, "date": TODAY.isoformat(), "slot": "morning", "temperature": "36.5"}
    assert client.post("/api/v1/health-checks", payload, content_type="application/json", **auth).status_code == 404
    client.force_login(leader)
    assert client.get(reverse("control:quarantine", args=[qb.pk])).status_code == 404
    r = client.post(reverse("control:check_record"), {"quarantine": qb.pk, "slot": "morning", "temperature": "36.5"})
    assert r.status_code == 404
    assert not HealthCheck.objects.exists()
    page = client.get(reverse("control:map")).content.decode()
    assert "乙楼人" not in page and f'data-building="{building2.pk}"' not in page
    assert client.get(reverse("control:map") + f"?compound={building2.compound_id}").status_code == 200
    assert client.get(reverse("control:zone", args=["building", building2.pk])).status_code == 404
    zones_body = client.get("/api/v1/zones", **auth).json()
    assert {(i["type"], i["id"]) for i in zones_body["items"] if i["type"] == "building"} == {("building", building.pk)}


def test_case_page_hides_contacts_of_other_buildings_from_a_leader(
    client, make_user, head, frozen, building, household2, resident, make_resident
):
    case = _case(resident)
    services.contact_add(actor=head, case=case, resident=make_resident(household2, name="别楼密接"))
    client.force_login(make_user(Role.BUILDING_LEADER, building))
    page = client.get(reverse("control:case", args=[case.pk])).content.decode()
    assert "别楼密接" not in page and 'id="hidden-contacts"' in page
    client.force_login(head)
    assert "别楼密接" in client.get(reverse("control:case", args=[case.pk])).content.decode()


def test_street_officer_sees_no_name_anywhere(
    client, make_user, street, neighbourhood, frozen, building, household, two_buildings, resident
):
    case = _case(resident)
    services.health_check_record(
        actor=None, quarantine=two_buildings["qb"], on=TODAY, slot=Slot.MORNING, temperature="38.3"
    )
    services.quarantine_release(actor=None, quarantine=two_buildings["qa"], early=True, reason="误登记")
    officer = make_user(Role.STREET_OFFICER, street)
    client.force_login(officer)
    names = ("王阳", "甲楼人", "乙楼人")
    pages = [
        reverse("core:home"),
        reverse("control:index"),
        reverse("control:zones"),
        reverse("control:zones") + f"?neighbourhood={neighbourhood.pk}",
        reverse("control:zone", args=["building", building.pk]),
        reverse("control:zone", args=["compound", building.compound_id]),
        reverse("control:summary"),
        reverse("control:summary") + f"?neighbourhood={neighbourhood.pk}",
        reverse("control:map") + f"?neighbourhood={neighbourhood.pk}",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert not any(n in body for n in names), url
    for url in (
        reverse("control:case", args=[case.pk]),
        reverse("control:quarantine", args=[two_buildings["qa"].pk]),
        reverse("control:release_notice", args=[two_buildings["qa"].pk]),
    ):
        assert client.get(url).status_code == 404, url
    auth = _auth(officer)
    assert client.get("/api/v1/quarantines", **auth).json()["count"] == 0
    zones_body = client.get("/api/v1/zones", **auth).content.decode()
    assert not any(n in zones_body for n in names)


def test_health_check_cannot_predate_the_quarantine(client, head, frozen, two_buildings):
    payload = {
        "quarantine": two_buildings["qa"].pk,
        "date": (TODAY - dt.timedelta(days=3)).isoformat(),
        "slot": "morning",
        "temperature": "36.5",
    }
    r = client.post("/api/v1/health-checks", payload, content_type="application/json", **_auth(head))
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "date", "message": "日期不能早于隔离开始日期(2022-04-20)"}]


# --- Query counts at a neighbourhood's size ----------------------------------------------------


def _grow(compound, make_resident, n_buildings: int, per_floor: int, floors: int) -> list[Building]:
    """``n_buildings`` buildings of ``floors`` × ``per_floor`` households, a few of them marked."""
    from jiayuan.places import services as places_services

    buildings = [
        places_services.building_create(actor=None, compound=compound, number=str(100 + i), floors=floors)
        for i in range(n_buildings)
    ]
    Household.objects.bulk_create(
        [
            Household(neighbourhood_id=b.neighbourhood_id, building=b, unit="1", room=f"{f}{r:02d}", floor=f)
            for b in buildings
            for f in range(1, floors + 1)
            for r in range(1, per_floor + 1)
        ]
    )
    for i, b in enumerate(buildings):
        households = list(b.households.order_by("id")[:3])
        if i % 3 == 0:
            _case(make_resident(households[0], name=f"阳{i}"), TODAY - dt.timedelta(days=i % 12))
        q = services.quarantine_start(
            actor=None, reason=QuarantineReason.RETURNEE_RISK_AREA, resident=make_resident(households[1], name=f"隔{i}")
        )
        services.health_check_record(actor=None, quarantine=q, on=TODAY, slot=Slot.MORNING, temperature="38.0")
        services.quarantine_start(
            actor=None, reason=QuarantineReason.POSITIVE_POOL, resident=make_resident(households[2], name=f"复{i}")
        )
    return buildings


@pytest.mark.parametrize("size", ["small", "neighbourhood"])
def test_map_and_summary_query_counts_do_not_grow_with_size(
    client, head, frozen, compound, neighbourhood, make_resident, django_assert_max_num_queries, size
):
    # ~1,300 households in 25 buildings (the demo neighbourhood), or 2 small buildings.
    n, per_floor, floors = (25, 4, 13) if size == "neighbourhood" else (2, 2, 2)
    buildings = _grow(compound, make_resident, n, per_floor, floors)
    assert Household.objects.filter(building__in=buildings).count() == n * per_floor * floors
    client.force_login(head)
    with django_assert_max_num_queries(13):
        page = client.get(reverse("control:map") + f"?neighbourhood={neighbourhood.pk}")
    assert page.status_code == 200
    assert page.content.decode().count('data-mark="retest"') == n
    # 13 for the table, + 2 for the WeChat text (today's new cases, today's round): fixed, not per row.
    with django_assert_max_num_queries(15):
        table = client.get(reverse("control:summary") + f"?neighbourhood={neighbourhood.pk}")
    assert table.status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(reverse("control:zones")).status_code == 200
    with django_assert_max_num_queries(11):
        assert client.get("/api/v1/zones?limit=100", **_auth(head)).status_code == 200
    with django_assert_max_num_queries(9):
        assert client.get("/api/v1/quarantines?limit=100", **_auth(head)).status_code == 200
    with django_assert_max_num_queries(8):
        checks = client.get(reverse("control:checks"))
    assert checks.status_code == 200 and checks.content.decode().count('class="bad" data-check=') == n
    # The home page's fixed budget (core/tests/test_today.py): nine apps' rows and cards, whatever
    # the number of cases (``size``).
    with django_assert_max_num_queries(55):
        assert client.get(reverse("core:home")).status_code == 200
    assert Case.objects.count() == len(range(0, n, 3))


# --- Pages as a user sees them -----------------------------------------------------------------


def test_map_focus_shows_only_buildings_that_matter(client, head, frozen, building, building2, building3, resident):
    _case(resident)
    client.force_login(head)
    full = client.get(reverse("control:map")).content.decode()
    assert all(f'data-building="{b.pk}"' in full for b in (building, building2, building3))
    assert f'href="#b-{building.pk}"' in full  # the building index
    focus = client.get(reverse("control:map") + "?focus=1").content.decode()
    assert f'data-building="{building.pk}"' in focus
    assert f'data-building="{building2.pk}"' not in focus and f'data-building="{building3.pk}"' not in focus


def test_map_focus_empty_state(client, head, frozen, building):
    client.force_login(head)
    page = client.get(reverse("control:map") + "?focus=1").content.decode()
    assert "今天没有重点楼栋" in page


def test_map_labels_each_person_when_a_household_mixes_marks(client, head, frozen, household, resident, make_resident):
    case = _case(resident)
    services.contact_add(actor=head, case=case, resident=make_resident(household, name="同户人"))
    client.force_login(head)
    page = client.get(reverse("control:map")).content.decode()
    cell = page.split(f'data-household="{household.pk}"')[1].split("</span>\n")[0]
    assert 'data-mark="positive"' in cell
    assert "<small>王阳</small>" in cell and "<small>同户人(密接)</small>" in cell


def test_summary_groups_and_focus_keep_the_totals(client, head, frozen, building, building2, neighbourhood, resident):
    _case(resident)
    client.force_login(head)
    url = reverse("control:summary") + f"?neighbourhood={neighbourhood.pk}"
    table = client.get(url).context["table"]
    assert sum(span for _l, span in table["groups"]) == len(table["columns"])
    assert [str(label) for label, _s in table["groups"]][:2] == ["病例", "密接(隔离中)"]
    page = client.get(url + "&focus=1").content.decode()
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    assert building.name in body and building2.name not in body
    cols = [c for c, _l in table["columns"]]
    assert table["total"][cols.index("zone_precaution")] == 1  # building2 still counted


def test_household_panel_says_done_when_both_checks_are_in(client, frozen, household, two_buildings):
    qa = two_buildings["qa"]
    token = household_link_token(household_link_issue(actor=None, household=household))
    page = client.get(reverse("household_home", args=[token])).content.decode()
    assert 'id="health-panel"' in page and "今天两次都已填写" not in page and "control/panels.css" in page
    for slot in (Slot.MORNING, Slot.AFTERNOON):
        services.health_check_record(actor=None, quarantine=qa, on=TODAY, slot=slot, temperature="36.4")
    page = client.get(reverse("household_home", args=[token])).content.decode()
    assert "今天两次都已填写" in page and "<details>" in page


def test_household_panel_waits_for_a_quarantine_starting_tomorrow(client, frozen, household, make_resident):
    person = make_resident(household, name="明天隔离")
    services.quarantine_start(
        actor=None, reason=QuarantineReason.RETURNEE_RISK_AREA, resident=person, start_on=TODAY + dt.timedelta(days=1)
    )
    token = household_link_token(household_link_issue(actor=None, household=household))
    assert 'id="health-panel"' not in client.get(reverse("household_home", args=[token])).content.decode()


def test_quarantine_page_links_its_case_only_when_the_user_may_see_it(
    client, head, make_user, frozen, building2, household2, resident, make_resident
):
    case = _case(resident)  # building 1
    contact = services.contact_add(actor=head, case=case, resident=make_resident(household2, name="别楼密接"))
    url = reverse("control:quarantine", args=[contact.quarantines.get().pk])
    client.force_login(head)
    assert 'id="case-link"' in client.get(url).content.decode()
    client.force_login(make_user(Role.BUILDING_LEADER, building2))
    page = client.get(url).content.decode()
    assert "别楼密接" in page and 'id="case-link"' not in page and "王阳" not in page


def test_zone_page_shows_todays_computed_level_before_the_daily_recompute(
    client, head, time_machine, building, resident
):
    d = TODAY - dt.timedelta(days=20)
    time_machine.move_to(at(d), tick=False)
    _case(resident, d)
    time_machine.move_to(at(d + dt.timedelta(days=8)), tick=False)  # no recompute since
    client.force_login(head)
    page = client.get(reverse("control:zone", args=["building", building.pk])).content.decode()
    computed = page.split('id="computed">')[1].split("</dd>")[0]
    assert computed == "管控区"
    assert (d + dt.timedelta(days=14)).isoformat() in page


def test_policy_page_names_the_preset_and_unit_for_readers(client, make_user, head, frozen, neighbourhood, building):
    services.policy_apply_preset(actor=head, neighbourhood=neighbourhood, preset="shanghai_2022")
    client.force_login(make_user(Role.COMMITTEE_STAFF, neighbourhood))
    page = client.get(reverse("control:policy")).content.decode()
    assert "shanghai_2022" not in page
    assert "按楼栋计算" in page.split('id="zone-rules">')[1]


def test_void_keeps_the_quarantine_of_someone_who_is_also_another_cases_contact(
    frozen, head, household, household2, resident, make_resident
):
    other_case = _case(make_resident(household2, name="另一病例"))
    case = _case(resident)
    both = make_resident(household, name="两案密接")
    services.contact_add(actor=head, case=case, resident=both)
    services.contact_add(actor=head, case=other_case, resident=both)  # same quarantine (same reason)
    only = services.contact_add(actor=head, case=case, resident=make_resident(household, name="单案密接"))
    services.case_void(actor=head, case=case, reason="登记错人", release_contacts=True)
    assert Quarantine.objects.get(resident=both).status == QuarantineStatus.ACTIVE
    assert only.quarantines.get().status == QuarantineStatus.RELEASED


def test_case_page_shows_the_quarantine_a_contact_already_has_from_another_case(
    client, head, frozen, household, household2, resident, make_resident
):
    first = _case(make_resident(household2, name="先病例"))
    second = _case(resident)
    both = make_resident(household, name="两案密接")
    services.contact_add(actor=head, case=first, resident=both)
    services.contact_add(actor=head, case=second, resident=both)
    q = Quarantine.objects.get(resident=both)
    client.force_login(head)
    page = client.get(reverse("control:case", args=[second.pk])).content.decode()
    row = page.split("两案密接")[1].split("</tr>")[0]
    assert reverse("control:quarantine", args=[q.pk]) in row
