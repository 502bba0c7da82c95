"""Psychological support: the content is visible only to the support group and the committee
head, on every page and endpoint; leaders and other volunteers see the request, not its content."""

from __future__ import annotations

import pytest

from jiayuan.care import services
from jiayuan.care.choices import Category, GroupRole, Status, Urgency
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role

pytestmark = pytest.mark.django_db

SECRET = "晚上睡不着很焦虑想找人聊聊"


@pytest.fixture
def people(make_user, neighbourhood, building, head):
    member = make_user(Role.VOLUNTEER, building, username="counsellor")
    services.support_member_add(actor=head, neighbourhood_id=neighbourhood.pk, user=member, role=GroupRole.PROFESSIONAL)
    return {
        "head": head,
        "member": member,
        "staff": make_user(Role.COMMITTEE_STAFF, neighbourhood, username="staff2"),
        "leader": make_user(Role.BUILDING_LEADER, building, username="leader2"),
        "volunteer": make_user(Role.VOLUNTEER, building, username="vol2"),
    }


@pytest.fixture
def psych(household, make_resident):
    resident = make_resident(household, name="陈女士")
    req, _c = services.request_create(
        actor="household-link:1",
        household=household,
        resident=resident,
        category=Category.PSYCHOLOGICAL,
        urgency=Urgency.TODAY,
        description=SECRET,
    )
    return req


READERS = ["head", "member"]
OUTSIDERS = ["staff", "leader", "volunteer"]


@pytest.mark.parametrize("who", READERS + OUTSIDERS)
def test_pages(client, people, psych, who):
    client.force_login(people[who])
    index = client.get("/care/").content.decode()
    detail = client.get(f"/care/{psych.pk}/").content.decode()
    assert f"#{psych.pk}" in index  # everyone in scope sees that there is a request
    if who in READERS:
        assert SECRET in index and SECRET in detail
        assert AuditEvent.objects.filter(action="care.request_view_confidential", actor=people[who]).exists()
    else:
        assert SECRET not in index and SECRET not in detail
        assert "内容仅心理支持小组和书记可见" in detail
        # and may not act on it
        r = client.post(f"/care/{psych.pk}/step/", {"status": "accepted"})
        assert r.status_code == 404
        psych.refresh_from_db()
        assert psych.status == Status.NEW


@pytest.mark.parametrize("who", READERS + OUTSIDERS)
def test_endpoints(client, people, psych, who, bearer):
    h = bearer(people[who])
    listed = client.get("/api/v1/requests", **h).json()["items"]
    (row,) = [i for i in listed if i["id"] == psych.pk]
    detail = client.get(f"/api/v1/requests/{psych.pk}", **h).json()
    if who in READERS:
        assert row["description"] == SECRET and detail["description"] == SECRET
    else:
        assert row["description"] is None and detail["description"] is None
        assert all(e["note"] is None for e in detail["events"])
        r = client.post(
            f"/api/v1/requests/{psych.pk}/status", {"status": "accepted"}, content_type="application/json", **h
        )
        assert r.status_code == 403
        r = client.post(
            f"/api/v1/requests/{psych.pk}/assign", {"user": people["member"].pk}, content_type="application/json", **h
        )
        assert r.status_code == 403


def test_notes_of_the_steps_stay_inside_the_group(client, people, psych, bearer):
    services.request_transition(
        actor=people["member"], request=psych, status=Status.ACCEPTED, note="已电话安抚, 约明早视频"
    )
    detail = client.get(f"/api/v1/requests/{psych.pk}", **bearer(people["leader"])).json()
    assert "视频" not in str(detail)
    client.force_login(people["leader"])
    assert "视频" not in client.get(f"/care/{psych.pk}/").content.decode()
    client.force_login(people["member"])
    assert "视频" in client.get(f"/care/{psych.pk}/").content.decode()


def test_only_group_members_can_be_given_one(people, psych, head):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.request_assign(actor=head, request=psych, user=people["volunteer"])
    services.request_assign(actor=head, request=psych, user=people["member"])
    assert psych.assignee == people["member"]


def test_home_panel_of_an_outsider_owner_does_not_show_content(client, people, psych, head):
    # Even an overdue psychological request a leader could see on the home page shows no content.
    client.force_login(people["leader"])
    assert SECRET not in client.get("/").content.decode()


def test_the_group_handles_psychological_requests_wherever_its_members_work(
    client, make_user, neighbourhood, building2, household, head, psych, bearer
):
    far = make_user(Role.VOLUNTEER, building2, username="far-counsellor")
    services.support_member_add(actor=head, neighbourhood_id=neighbourhood.pk, user=far, role=GroupRole.VOLUNTEER)
    other, _c = services.request_create(
        actor="l", household=household, category=Category.REPAIR, urgency=Urgency.TODAY, description="水管"
    )
    ids = {i["id"] for i in client.get("/api/v1/requests", **bearer(far)).json()["items"]}
    assert ids == {psych.pk}  # the group's request, not building 1's other requests
    services.request_assign(actor=head, request=psych, user=far)
    r = client.post(
        f"/api/v1/requests/{psych.pk}/status", {"status": "accepted"}, content_type="application/json", **bearer(far)
    )
    assert r.status_code == 200
    assert client.get(f"/api/v1/requests/{other.pk}", **bearer(far)).status_code == 404
