"""The gate pages: the guard's scan page (green/red with the reason, find by building and room),
visitors, vehicles, returnees, passes and their printable card, parcels (overdue stand out,
door-only), the volunteers' delivery list, the household's link page, the home page rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from jiayuan.accounts.services import household_link_issue, household_link_token
from jiayuan.core.permissions import Role
from jiayuan.gates import services
from jiayuan.gates.models import GatePassage, Parcel
from jiayuan.gates.tests.conftest import zone

pytestmark = pytest.mark.django_db


@pytest.fixture
def guard_client(client, guard):
    client.force_login(guard)
    return client


def test_scan_page_red_for_sealed_then_green(guard_client, gate, resident, code, building, make_resident, household2):
    url = reverse("gates:scan", args=[gate.pk])
    assert guard_client.get(url).status_code == 200
    zone(building, "sealed")
    r = guard_client.post(url, {"code": code(resident), "direction": "out"}, HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert 'class="answer refused"' in html and "封控区" in html
    other = make_resident(household2, name="周六")
    r = guard_client.post(url, {"code": code(other), "direction": "out", "temperature": "36.5"}, HTTP_HX_REQUEST="true")
    assert 'class="answer allowed"' in r.content.decode()


def test_scan_by_building_and_room(guard_client, gate, resident, building):
    url = reverse("gates:scan", args=[gate.pk])
    r = guard_client.get(url, {"building": building.pk, "unit": "1", "room": "301"})
    assert resident.name in r.content.decode()
    r = guard_client.post(url, {"resident": resident.pk, "direction": "in"})
    assert 'class="answer allowed"' in r.content.decode()
    assert GatePassage.objects.get().resident_id == resident.pk


def test_scan_unknown_code_says_so(guard_client, gate):
    r = guard_client.post(reverse("gates:scan", args=[gate.pk]), {"code": "R9-ZZZZZZZZ", "direction": "in"})
    assert "无法识别" in r.content.decode()


def test_scan_page_of_another_compound_is_404(client, gate, make_user, neighbourhood):
    from jiayuan.places import services as places

    c = places.compound_create(actor=None, neighbourhood=neighbourhood, name="红御苑")
    other_guard = make_user(Role.GATE_GUARD, c)
    client.force_login(other_guard)
    assert client.get(reverse("gates:scan", args=[gate.pk])).status_code == 404


def test_visitor_and_vehicle_pages(guard_client, gate, household, building):
    r = guard_client.post(
        reverse("gates:visitor", args=[gate.pk]),
        {
            "direction": "in",
            "name": "赵医生",
            "phone": "13912345678",
            "purpose": "送药",
            "building": building.pk,
            "unit": "1",
            "room": "301",
        },
    )
    assert "answer allowed" in r.content.decode() and "139****5678" in r.content.decode()
    r = guard_client.post(
        reverse("gates:vehicle", args=[gate.pk]), {"direction": "in", "plate": "沪A12345", "purpose": "garbage"}
    )
    assert "answer allowed" in r.content.decode()
    assert GatePassage.objects.filter(subject="vehicle", vehicle_purpose="garbage").exists()


def test_returnee_page(guard_client, gate, resident, code):
    r = guard_client.post(
        reverse("gates:returnee", args=[gate.pk]),
        {
            "code": code(resident),
            "origin": "长春",
            "origin_risk": "high",
            "transport": "train",
            "commitment_signed": "on",
        },
    )
    assert "已登记" in r.content.decode()
    from jiayuan.control.models import Returnee

    assert Returnee.objects.filter(resident=resident).exists()


def test_index_counts_and_passages_export(guard_client, gate, guard, resident, code):
    services.passage_record(actor=guard, gate=gate, direction="in", resident_code=code(resident), temperature="38.2")
    r = guard_client.get(reverse("gates:index"))
    assert r.status_code == 200 and "今日门岗" in r.content.decode()
    assert r.context["counts"]["fevers"] == 1
    r = guard_client.get(reverse("gates:passages"), {"format": "xlsx"})
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxml")


def test_pass_card_prints_a_qr(client, head, household):
    client.force_login(head)
    today = timezone.localdate()
    r = client.post(
        reverse("gates:passes"),
        {
            "building": household.building_id,
            "unit": "1",
            "room": "301",
            "kind": "shopping",
            "valid_from": today,
            "valid_to": today + dt.timedelta(days=6),
            "quota": 1,
            "period_days": 2,
        },
    )
    assert r.status_code == 302
    card = client.get(r["Location"])
    html = card.content.decode()
    assert "<svg" in html and "P-" in html and "data-print" in html


def test_parcels_page_overdue_and_door_only(guard_client, guard, household, building, time_machine):
    parcel = services.parcel_register(actor=guard, household=household, carrier="顺丰")
    Parcel.objects.filter(pk=parcel.pk).update(arrived_at=timezone.now() - dt.timedelta(hours=30))
    zone(building, "sealed")
    html = guard_client.get(reverse("gates:parcels")).content.decode()
    assert "滞留过久" in html and "只能送到门口" in html


def test_parcel_register_by_phone_last_four(guard_client, resident, household):
    r = guard_client.post(reverse("gates:parcels"), {"phone_last4": "1111", "carrier": "京东"})
    assert r.status_code == 302
    assert Parcel.objects.get().household_id == household.pk


def test_volunteer_delivery_list(client, make_user, building, household, guard):
    parcel = services.parcel_register(actor=guard, household=household, carrier="美团外卖")
    services.parcel_disinfect(actor=guard, parcel=parcel)
    volunteer = make_user(Role.VOLUNTEER, building)
    client.force_login(volunteer)
    html = client.get(reverse("gates:deliveries")).content.decode()
    assert "美团外卖" in html and building.name in html
    assert client.get(reverse("gates:index")).status_code == 404  # volunteers do not see the gate log
    home = client.get("/").content.decode()
    assert "件快递待送上门" in home


def test_household_sees_visits_and_parcels(client, gate, guard, household, head):
    services.passage_record(
        actor=guard,
        gate=gate,
        direction="in",
        visitor={"name": "赵医生", "phone": "13912345678", "purpose": "送药", "host_household": household.pk},
    )
    parcel = services.parcel_disinfect(
        actor=guard, parcel=services.parcel_register(actor=guard, household=household, carrier="顺丰")
    )
    token = household_link_token(household_link_issue(actor=head, household=household))
    home = client.get(f"/h/{token}/").content.decode()
    assert "gates-panel" in home and parcel.pickup_code in home
    page = client.get(reverse("gates_household:home", args=[token])).content.decode()
    assert "赵** 139****5678" in page and "13912345678" not in page


def test_committee_home_shows_the_fever_alert(client, head, gate, guard, resident, code):
    services.passage_record(actor=guard, gate=gate, direction="out", resident_code=code(resident), temperature="38.5")
    client.force_login(head)
    html = client.get("/").content.decode()
    assert "gates-fevers" in html and "38.5" in html
    assert "门岗测温发热" in html


def test_scan_post_query_count_is_fixed(guard_client, gate, resident, code, make_resident, household):
    url = reverse("gates:scan", args=[gate.pk])
    guard_client.post(url, {"code": code(resident), "direction": "out"})
    with CaptureQueriesContext(connection) as ctx:
        guard_client.post(url, {"code": code(resident), "direction": "out"})
    first = len(ctx)
    for n in range(5):
        make_resident(household, name=f"居民{n}")
    with CaptureQueriesContext(connection) as ctx:
        guard_client.post(url, {"code": code(resident), "direction": "out"})
    assert len(ctx) == first
