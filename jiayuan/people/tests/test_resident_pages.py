"""Resident pages: search, masking, audited reveal, create/edit with field errors."""

from __future__ import annotations

import pytest

from jiayuan.conftest import ID_NUMBERS
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.people.models import Resident


@pytest.fixture
def resident(household, make_resident):
    return make_resident(household, name="王秀英", id_number=ID_NUMBERS[1], phone="13812345678", tags=["elderly_alone"])


@pytest.fixture
def staff(make_user, neighbourhood):
    return make_user(Role.COMMITTEE_STAFF, neighbourhood, username="staff")


@pytest.mark.django_db
def test_detail_shows_masked_values_only_by_staff(client, staff, resident):
    client.force_login(staff)
    body = client.get(f"/people/{resident.pk}/").content.decode()
    assert "3101**********002X" in body
    assert "138****5678" in body
    assert ID_NUMBERS[1] not in body
    assert "13812345678" not in body


@pytest.mark.django_db
def test_reveal_by_staff_returns_full_value_and_audits(client, staff, resident):
    client.force_login(staff)
    response = client.post(f"/people/{resident.pk}/reveal/phone/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "13812345678" in response.content.decode()
    event = AuditEvent.objects.get(action="resident.reveal")
    assert event.actor == staff
    assert event.object_id == str(resident.pk)
    assert event.changes == {"field": "phone"}
    assert "13812345678" not in str(event.changes) + event.object_repr


@pytest.mark.django_db
def test_reveal_by_volunteer_is_404_and_not_audited(client, make_user, building, resident):
    volunteer = make_user(Role.VOLUNTEER, building)
    client.force_login(volunteer)
    assert client.get(f"/people/{resident.pk}/").status_code == 200  # may see the resident …
    assert client.post(f"/people/{resident.pk}/reveal/id_number/").status_code == 404  # … not reveal
    assert not AuditEvent.objects.filter(action="resident.reveal").exists()


@pytest.mark.django_db
def test_reveal_of_unknown_field_is_404(client, staff, resident):
    client.force_login(staff)
    assert client.post(f"/people/{resident.pk}/reveal/name/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "found"),
    [("王秀", True), ("5678", True), ("301", True), ("1-301", True), ("13812345678", True), ("9999", False)],
)
def test_search_by_name_room_phone(client, staff, resident, query, found):
    client.force_login(staff)
    response = client.get("/people/", {"q": query})
    assert response.status_code == 200
    assert (resident.name in response.content.decode()) is found


@pytest.mark.django_db
def test_search_by_htmx_returns_only_the_results_fragment(client, staff, resident):
    client.force_login(staff)
    response = client.get("/people/", {"q": "王"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert resident.name in body
    assert "<html" not in body


@pytest.mark.django_db
def test_list_is_paginated_with_constant_queries(
    client, staff, household, make_resident, django_assert_max_num_queries
):
    for i in range(60):
        make_resident(household, name=f"居民{i:02d}", tags=["party_member"])
    client.force_login(staff)
    with django_assert_max_num_queries(12):
        response = client.get("/people/")
    assert len(response.context["page"].object_list) == 50
    assert "第 1 / 2 页" in response.content.decode()
    assert client.get("/people/", {"page": "abc"}).status_code == 200


@pytest.mark.django_db
def test_create_resident_with_new_room_creates_household(client, staff, building):
    client.force_login(staff)
    response = client.post(
        "/people/new/",
        {
            "building": building.pk,
            "unit": "2",
            "room": "602室",
            "name": "李四",
            "id_type": "mainland",
            "id_number": ID_NUMBERS[0].lower(),
            "phone": "+86 139-1234-0000",
            "gender": "U",
            "relation_to_head": "head",
            "residency": "owner",
            "presence": "present",
            "tags": ["party_member"],
        },
    )
    assert response.status_code == 302
    r = Resident.objects.get(name="李四")
    assert (r.household.unit, r.household.room, r.household.floor) == ("2", "602", 6)
    assert r.phone == "13912340000"
    assert r.gender == "M"  # from the ID number
    assert r.tags == ["party_member"]
    assert AuditEvent.objects.filter(action="resident.create", object_id=str(r.pk)).exists()


@pytest.mark.django_db
def test_create_with_bad_input_shows_field_errors_in_chinese(client, staff, building, resident):
    client.force_login(staff)
    response = client.post(
        "/people/new/",
        {
            "building": building.pk,
            "room": "301",
            "unit": "1",
            "name": "重复",
            "id_type": "mainland",
            "id_number": ID_NUMBERS[1],
            "phone": "12345",
            "gender": "U",
            "relation_to_head": "head",
            "residency": "owner",
            "presence": "present",
        },
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "电话号码位数不对" in form.errors["phone"][0]
    assert Resident.objects.filter(name="重复").count() == 0
    response = client.post(
        "/people/new/",
        {
            "building": building.pk,
            "room": "301",
            "unit": "1",
            "name": "重复",
            "id_type": "mainland",
            "id_number": ID_NUMBERS[1],
            "gender": "U",
            "relation_to_head": "head",
            "residency": "owner",
            "presence": "present",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["id_number"] == ["该证件号码已在本居民区登记"]


@pytest.mark.django_db
def test_create_in_a_building_outside_scope_is_rejected(client, make_user, building, building2):
    leader = make_user(Role.BUILDING_LEADER, building)
    client.force_login(leader)
    response = client.post(
        "/people/new/",
        {
            "building": building2.pk,
            "room": "101",
            "name": "越权",
            "id_type": "mainland",
            "gender": "U",
            "relation_to_head": "head",
            "residency": "owner",
            "presence": "present",
        },
    )
    assert response.status_code == 400
    assert "building" in response.context["form"].errors
    assert not Resident.objects.filter(name="越权").exists()


@pytest.mark.django_db
def test_edit_keeps_id_and_phone_when_left_empty_and_audits_the_change(client, staff, resident):
    client.force_login(staff)
    page = client.get(f"/people/{resident.pk}/edit/").content.decode()
    assert "13812345678" not in page and ID_NUMBERS[1] not in page
    response = client.post(
        f"/people/{resident.pk}/edit/",
        {
            "building": resident.household.building_id,
            "unit": "1",
            "room": "301",
            "name": "王秀英",
            "id_type": "mainland",
            "id_number": "",
            "phone": "",
            "gender": "F",
            "relation_to_head": "head",
            "residency": "owner",
            "presence": "hospitalised",
            "tags": ["elderly_alone", "chronic_illness"],
        },
    )
    assert response.status_code == 302
    resident.refresh_from_db()
    assert resident.phone == "13812345678" and resident.id_number == ID_NUMBERS[1]
    assert resident.presence == "hospitalised"
    event = AuditEvent.objects.get(action="resident.update")
    assert event.changes["presence"] == ["present", "hospitalised"]
    assert event.changes["tags"] == [["elderly_alone"], ["chronic_illness", "elderly_alone"]]
    assert "phone" not in event.changes


@pytest.mark.django_db
def test_volunteer_cannot_edit(client, make_user, building, resident):
    client.force_login(make_user(Role.VOLUNTEER, building))
    assert client.get(f"/people/{resident.pk}/edit/").status_code == 404
    assert client.get("/people/new/").status_code == 404


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client, resident):
    response = client.get(f"/people/{resident.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_delete_needs_a_reason_and_is_audited(client, staff, resident):
    client.force_login(staff)
    response = client.post(f"/people/{resident.pk}/delete/", {"reason": "  "})
    assert response.status_code == 400
    assert "请填写删除原因" in response.content.decode()
    assert Resident.objects.filter(pk=resident.pk).exists()
    response = client.post(f"/people/{resident.pk}/delete/", {"reason": "重复登记"})
    assert response.status_code == 302
    assert not Resident.objects.filter(pk=resident.pk).exists()
    event = AuditEvent.objects.get(action="resident.delete")
    assert event.changes["reason"] == "重复登记" and event.object_id == str(resident.pk)


@pytest.mark.django_db
def test_volunteer_cannot_delete(client, make_user, building, resident):
    client.force_login(make_user(Role.VOLUNTEER, building))
    assert client.post(f"/people/{resident.pk}/delete/", {"reason": "x"}).status_code == 404
    assert Resident.objects.filter(pk=resident.pk).exists()


@pytest.mark.django_db
def test_street_home_counts_use_constant_queries(
    client,
    make_user,
    street,
    neighbourhood,
    other_neighbourhood,
    household,
    make_resident,
    django_assert_max_num_queries,
):
    for i in range(5):
        make_resident(household, name=f"人{i}")
    client.force_login(make_user(Role.STREET_OFFICER, street))
    with django_assert_max_num_queries(14):
        response = client.get("/")
    rows = {r["neighbourhood"].code: r["counts"] for r in response.context["rows"]}
    assert rows["T1"]["residents"] == 5 and rows["T1"]["households"] == 1
    assert rows["T2"]["residents"] == 0


@pytest.mark.django_db
def test_reveal_without_javascript_shows_the_value_in_the_page_not_in_a_cookie(client, staff, resident):
    client.force_login(staff)
    response = client.post(f"/people/{resident.pk}/reveal/id_number/")
    assert response.status_code == 200
    body = response.content.decode()
    assert ID_NUMBERS[1] in body and "<html" in body
    assert all(ID_NUMBERS[1] not in morsel.value for morsel in response.cookies.values())
    assert AuditEvent.objects.filter(action="resident.reveal").count() == 1
