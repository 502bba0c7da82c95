"""Pages: scope (404 outside), names only for VIEW_CONTROL, the map, the summary, the household
link panel, the home alerts, forms with field errors (never a 500)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from jiayuan.accounts.services import household_link_issue, household_link_token
from jiayuan.control import services
from jiayuan.control.choices import CaseSource, QuarantineReason, QuarantineStatus, Slot
from jiayuan.control.models import Case, HealthCheck, Quarantine, ZoneOverride
from jiayuan.control.tests.conftest import TODAY
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role


@pytest.fixture
def world(frozen, building, building2, household, household2, resident, resident2, other_neighbourhood):
    from jiayuan.places import services as places_services

    case = services.case_record(
        actor=None, resident=resident, detected_on=TODAY - dt.timedelta(days=2), source=CaseSource.PCR_ROUND
    )
    q = services.quarantine_start(actor=None, reason=QuarantineReason.RETURNEE_RISK_AREA, resident=resident2)
    oc = places_services.compound_create(actor=None, neighbourhood=other_neighbourhood, name="别处苑")
    ob = places_services.building_create(actor=None, compound=oc, number="9", floors=3)
    return {"case": case, "q": q, "other_building": ob}


def _login(client, make_user, role, scope):
    user = make_user(role, scope)
    client.force_login(user)
    return user


URLS_CONTROL = ["control:cases", "control:quarantines", "control:checks", "control:returnees", "control:policy"]
URLS_ZONES = ["control:index", "control:map", "control:summary", "control:zones"]


@pytest.mark.parametrize("name", URLS_CONTROL + URLS_ZONES)
def test_every_page_renders_for_the_head(client, head, world, name):
    client.force_login(head)
    assert client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", URLS_CONTROL)
def test_street_officer_gets_404_on_name_lists(client, make_user, street, world, name):
    _login(client, make_user, Role.STREET_OFFICER, street)
    assert client.get(reverse(name)).status_code == 404


def test_street_officer_sees_counts_without_names(client, make_user, street, neighbourhood, world):
    _login(client, make_user, Role.STREET_OFFICER, street)
    summary = client.get(reverse("control:summary")).content.decode()
    assert "泰和居民区" in summary and "王阳" not in summary
    page = client.get(reverse("control:map") + f"?neighbourhood={neighbourhood.pk}").content.decode()
    assert 'data-level="sealed"' in page
    assert 'data-mark="positive"' in page
    assert "王阳" not in page and "李密" not in page


def test_map_shows_names_to_building_leader_of_that_building_only(client, make_user, building, world, neighbourhood):
    _login(client, make_user, Role.BUILDING_LEADER, building)
    page = client.get(reverse("control:map")).content.decode()
    assert "王阳" in page
    assert "李密" not in page  # building 2 is not theirs


def test_volunteer_sees_colours_not_names(client, make_user, neighbourhood, world):
    _login(client, make_user, Role.VOLUNTEER, neighbourhood)
    page = client.get(reverse("control:map")).content.decode()
    assert 'data-mark="positive"' in page and 'data-mark="quarantine"' in page
    assert "王阳" not in page
    assert client.get(reverse("control:case", args=[world["case"].pk])).status_code == 404


def test_case_and_quarantine_of_another_neighbourhood_are_404(client, make_user, other_neighbourhood, world):
    _login(client, make_user, Role.COMMITTEE_HEAD, other_neighbourhood)
    assert client.get(reverse("control:case", args=[world["case"].pk])).status_code == 404
    assert client.get(reverse("control:quarantine", args=[world["q"].pk])).status_code == 404
    assert client.get(reverse("control:zone", args=["building", world["case"].building_id])).status_code == 404


def test_summary_counts_per_building_and_total(client, head, building, world, neighbourhood):
    client.force_login(head)
    response = client.get(reverse("control:summary") + f"?neighbourhood={neighbourhood.pk}")
    table = response.context["table"]
    cols = [c for c, _l in table["columns"]]
    row = next(r for r in table["rows"] if r["obj"] == building)
    assert row["values"][cols.index("case_at_home")] == 1
    assert row["values"][cols.index("zone_sealed")] == 1
    assert table["total"][cols.index("q_home")] == 1
    assert table["total"][cols.index("checks_missing")] == 2


def test_case_create_page_opens_a_case_and_shows_field_errors(client, head, world, make_resident, household2):
    client.force_login(head)
    bad = client.post(reverse("control:case_create"), {"resident": "无此人", "detected_on": "x", "source": "pcr_round"})
    assert bad.status_code == 200
    assert "没有找到该居民" in bad.content.decode()
    newbie = make_resident(household2, name="周新")
    response = client.post(
        reverse("control:case_create"),
        {"resident": "2-502 周新", "detected_on": TODAY.isoformat(), "source": "antigen", "type": "confirmed"},
    )
    case = Case.objects.get(resident=newbie)
    assert response.status_code == 302 and response["Location"] == reverse("control:case", args=[case.pk])


def test_case_transition_page_refuses_wrong_step(client, head, world):
    client.force_login(head)
    url = reverse("control:case", args=[world["case"].pk])
    response = client.post(url, {"t-to_status": "released", "t-on": TODAY.isoformat()})
    assert response.status_code == 200  # the choice is not offered: a field error, not a 500
    response = client.post(url, {"t-to_status": "hospital", "t-on": TODAY.isoformat()})
    assert response.status_code == 302
    world["case"].refresh_from_db()
    assert world["case"].status == "hospital"


def test_contact_page_adds_outsider_with_masked_phone(client, head, world):
    client.force_login(head)
    url = reverse("control:case", args=[world["case"].pk])
    response = client.post(
        url, {"c-kind": "close", "c-name": "快递员", "c-phone": "13912345678", "c-start_on": TODAY.isoformat()}
    )
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "139****5678" in page and "13912345678" not in page


def test_release_page_early_needs_reason_then_prints_notice(client, head, world):
    client.force_login(head)
    q = world["q"]
    url = reverse("control:quarantine", args=[q.pk])
    response = client.post(url, {"form": "release", "rel-early": "on", "rel-reason": ""})
    assert "提前解除必须填写原因" in response.content.decode()
    response = client.post(url, {"form": "release", "rel-early": "on", "rel-reason": "转为集中隔离外地"})
    assert response.status_code == 302
    q.refresh_from_db()
    assert q.status == QuarantineStatus.RELEASED
    notice = client.get(reverse("control:release_notice", args=[q.pk]))
    assert notice.status_code == 200 and "解除隔离告知书" in notice.content.decode()


def test_release_notice_is_404_while_active(client, head, world):
    client.force_login(head)
    assert client.get(reverse("control:release_notice", args=[world["q"].pk])).status_code == 404


def test_staff_health_check_via_quarantine_page(client, make_user, building2, world):
    _login(client, make_user, Role.BUILDING_LEADER, building2)
    url = reverse("control:quarantine", args=[world["q"].pk])
    response = client.post(url, {"form": "check", "hc-slot": "morning", "hc-temperature": "99"})
    assert response.status_code == 200  # field error
    response = client.post(url, {"form": "check", "hc-slot": "morning", "hc-temperature": "37.8"})
    assert response.status_code == 302
    assert HealthCheck.objects.get().alert
    # A building leader may record checks but not release.
    assert client.post(url, {"form": "release", "rel-early": "on", "rel-reason": "x"}).status_code == 404


def test_home_page_shows_fever_alert_to_control_users_only(client, head, make_user, street, world):
    services.health_check_record(actor=None, quarantine=world["q"], on=TODAY, slot=Slot.MORNING, temperature="38.2")
    client.force_login(head)
    page = client.get(reverse("core:home")).content.decode()
    assert 'id="control-alerts"' in page and "38.2" in page
    _login(client, make_user, Role.STREET_OFFICER, street)
    assert 'id="control-alerts"' not in client.get(reverse("core:home")).content.decode()


def test_household_link_panel_and_health_entry(client, world, household, household2):
    link = household_link_issue(actor=None, household=household2)
    token = household_link_token(link)
    page = client.get(reverse("household_home", args=[token])).content.decode()
    assert 'id="health-panel"' in page
    response = client.post(
        reverse("control_household:health", args=[token]),
        {"quarantine": world["q"].pk, "slot": "morning", "temperature": "37.5", "symptoms": ["cough"]},
    )
    assert response.status_code == 302
    check = HealthCheck.objects.get()
    assert check.alert and check.source == "household" and check.symptoms == ["cough"]
    assert AuditEvent.objects.filter(action="health_check.record").exists()
    # Bad temperature: a message, not a 500.
    response = client.post(
        reverse("control_household:health", args=[token]),
        {"quarantine": world["q"].pk, "slot": "afternoon", "temperature": "abc"},
        follow=True,
    )
    assert "体温应为数字" in response.content.decode()
    # Another household's quarantine through this link: the invalid-link page.
    other = household_link_token(household_link_issue(actor=None, household=household))
    assert (
        client.post(
            reverse("control_household:health", args=[other]),
            {"quarantine": world["q"].pk, "slot": "morning", "temperature": "36.5"},
        ).status_code
        == 404
    )


def test_household_panel_hidden_without_quarantine(client, world, household):
    token = household_link_token(household_link_issue(actor=None, household=household))
    assert 'id="health-panel"' not in client.get(reverse("household_home", args=[token])).content.decode()


def test_override_page_for_head_only(client, head, make_user, building, neighbourhood, world):
    client.force_login(head)
    url = reverse("control:zone", args=["building", building.pk])
    response = client.post(url, {"level": "precaution", "reason": "", "expires_at": "2022-04-21T10:00"})
    assert response.status_code == 200 and "这个字段是必填项" in response.content.decode()
    assert not ZoneOverride.objects.exists()
    response = client.post(url, {"level": "precaution", "reason": "误报", "expires_at": "2022-04-21T10:00"})
    assert response.status_code == 302
    _login(client, make_user, Role.COMMITTEE_STAFF, neighbourhood)
    assert client.post(url, {"level": "sealed", "reason": "x", "expires_at": "2022-04-21T10:00"}).status_code == 404


def test_policy_page_preset_and_edit_for_head_only(client, head, make_user, neighbourhood, world):
    client.force_login(head)
    response = client.post(
        reverse("control:policy") + f"?neighbourhood={neighbourhood.pk}", {"preset": "shanghai_2020"}
    )
    assert response.status_code == 302
    edit = reverse("control:policy_edit", args=[neighbourhood.pk, "other"])
    response = client.post(edit, {"kind": "home", "days": "5", "test_days": "1,9"})
    assert "检测日应在第 1 至第 5 天之间" in response.content.decode()
    assert client.post(edit, {"kind": "home", "days": "5", "test_days": "1,5"}).status_code == 302
    _login(client, make_user, Role.COMMITTEE_STAFF, neighbourhood)
    assert client.get(edit).status_code == 404


def test_returnee_registration_page(client, head, world, resident2, household, make_resident):
    client.force_login(head)
    make_resident(household, name="孙回")
    response = client.post(
        reverse("control:returnee_create"),
        {
            "resident": "孙回",
            "origin": "吉林长春",
            "origin_risk": "high",
            "arrival_on": TODAY.isoformat(),
            "transport": "train",
            "commitment_signed": "on",
        },
    )
    assert response.status_code == 302
    assert Quarantine.objects.filter(resident__name="孙回", reason="returnee_risk_area").exists()
    page = client.get(reverse("control:returnees")).content.decode()
    assert "吉林长春" in page


def test_admin_lists_render_and_mask_contact_phone(client, world, django_user_model):
    admin = django_user_model.objects.create_superuser("op", password="op-pass-1")
    client.force_login(admin)
    services.contact_add(actor=None, case=world["case"], name="外来人", phone="13912345678")
    for model in ("case", "contact", "quarantine", "healthcheck", "returnee", "zonestatus", "zonechange"):
        response = client.get(f"/admin/control/{model}/")
        assert response.status_code == 200, model
    page = client.get("/admin/control/contact/").content.decode()
    assert "139****5678" in page and "13912345678" not in page


def test_map_in_english(client, head, world):
    client.force_login(head)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("control:map")).content.decode()
    assert "Household isolation map" in page and "Sealed zone" in page


def test_quick_check_entry_from_todays_list(client, make_user, building2, world):
    _login(client, make_user, Role.BUILDING_LEADER, building2)
    page = client.get(reverse("control:checks") + "?missing=1").content.decode()
    assert "李密" in page and 'action="/control/checks/record/"' in page
    response = client.post(
        reverse("control:check_record"),
        {"quarantine": world["q"].pk, "slot": "morning", "temperature": "38.0", "missing": "1"},
    )
    assert response.status_code == 302 and response["Location"].endswith("?missing=1")
    assert HealthCheck.objects.get().alert
    response = client.post(
        reverse("control:check_record"), {"quarantine": world["q"].pk, "slot": "x", "temperature": "a"}
    )
    assert response.status_code == 302  # the error is a message, not a 500
    # A quarantine outside the leader's buildings: 404.
    assert (
        client.post(
            reverse("control:check_record"), {"quarantine": 999999, "slot": "morning", "temperature": "36.5"}
        ).status_code
        == 404
    )


def test_checks_list_for_volunteer_is_404(client, make_user, neighbourhood, world):
    _login(client, make_user, Role.VOLUNTEER, neighbourhood)
    assert client.get(reverse("control:checks")).status_code == 404
    assert client.post(reverse("control:check_record"), {"quarantine": world["q"].pk}).status_code == 404
