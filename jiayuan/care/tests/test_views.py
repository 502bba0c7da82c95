"""Pages: every staff page opens for the roles that see it and not for others; the phone log's
three taps; the household link page raises, follows, confirms and reopens requests."""

from __future__ import annotations

import pytest

from jiayuan.care import services
from jiayuan.care.choices import Category, Status, Urgency
from jiayuan.care.models import CareRequest, ErrandItem
from jiayuan.core.permissions import Role

pytestmark = pytest.mark.django_db

PAGES = ["/care/", "/care/errands/", "/care/trips/", "/care/visits/", "/care/support/"]


@pytest.fixture
def req(household):
    r, _c = services.request_create(
        actor="l", household=household, category=Category.SHORTAGE, urgency=Urgency.TODAY, description="缺米"
    )
    return r


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.COMMITTEE_HEAD, dict.fromkeys([*PAGES, "/care/new/", "/care/suggestions/", "/care/settings/"], 200)),
        (Role.COMMITTEE_STAFF, dict.fromkeys([*PAGES, "/care/new/", "/care/suggestions/", "/care/settings/"], 200)),
        (
            Role.BUILDING_LEADER,
            {**dict.fromkeys([*PAGES, "/care/new/"], 200), "/care/suggestions/": 404, "/care/settings/": 404},
        ),
        (Role.VOLUNTEER, {**dict.fromkeys([*PAGES, "/care/new/"], 200), "/care/suggestions/": 404}),
        (Role.OWNERS_COMMITTEE, {"/care/": 404, "/care/new/": 404, "/care/errands/": 404, "/care/settings/": 404}),
        (Role.GATE_GUARD, {"/care/": 404, "/care/visits/": 404}),
        (Role.STREET_OFFICER, {"/care/": 404, "/care/trips/": 404}),
    ],
)
def test_pages_by_role(client, make_user, neighbourhood, building, compound, req, role, expected):
    scope = {Role.BUILDING_LEADER: building, Role.VOLUNTEER: building, Role.GATE_GUARD: compound}.get(
        role, neighbourhood
    )
    if role == Role.STREET_OFFICER:
        scope = neighbourhood.street
    client.force_login(make_user(role, scope))
    for url, status in expected.items():
        assert client.get(url).status_code == status, (role, url)
    detail = client.get(f"/care/{req.pk}/")
    assert detail.status_code == (200 if expected.get("/care/") == 200 else 404)


def test_the_nav_item_shows_for_who_may_view_requests(client, make_user, neighbourhood, compound):
    client.force_login(make_user(Role.COMMITTEE_STAFF, neighbourhood))
    assert "民呼我应" in client.get("/").content.decode()
    client.force_login(make_user(Role.GATE_GUARD, compound))
    assert 'href="/care/"' not in client.get("/").content.decode()


def test_phone_log_in_three_taps(client, staff, household, make_resident):
    elder = make_resident(household, name="钱奶奶", tags=["bedridden"])
    client.force_login(staff)
    page = client.get("/care/new/").content.decode()
    label = " ".join(str(household).split())
    assert "钱奶奶" not in page  # the page does not carry the roster: the list comes as one types
    found = client.get("/care/new/who/", {"q": "钱"}).json()["items"]
    assert found == [{"label": f"{label} 钱奶奶"}]
    r = client.post(
        "/care/new/",
        {
            "who": f"{label} 钱奶奶",
            "category": "medical_trip",
            "urgency": "today",
            "description": "要去医院复诊",
            "idempotency_key": "a",
        },
    )
    req = CareRequest.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/care/{req.pk}/"
    assert req.resident == elder and req.source == "phone" and req.priority == "high" and req.created_by == staff
    # The same form sent twice is one request.
    client.post(
        "/care/new/",
        {
            "who": f"{label} 钱奶奶",
            "category": "medical_trip",
            "urgency": "today",
            "description": "要去医院复诊",
            "idempotency_key": "a",
        },
    )
    assert CareRequest.objects.count() == 1
    r = client.post("/care/new/", {"who": "不存在的住户", "category": "other", "urgency": "today", "description": "x"})
    assert r.status_code == 200 and "请从列表中选择住户或居民" in r.content.decode()


def test_the_phone_log_finds_who_called_by_building_room_or_name_in_scope_only(
    client, staff, household, household2, make_resident, other_neighbourhood, make_user
):
    from jiayuan.places import services as places

    make_resident(household, name="钱奶奶")
    make_resident(household2, name="钱爷爷")
    compound = places.compound_create(actor=None, neighbourhood=other_neighbourhood, name="红御苑")
    far = places.household_create(
        actor=None,
        building=places.building_create(actor=None, compound=compound, number="9", units=1, floors=3),
        unit="1",
        room="301",
    )
    make_resident(far, name="钱外人")
    client.force_login(staff)

    def labels(q):
        return [item["label"] for item in client.get("/care/new/who/", {"q": q}).json()["items"]]

    h1 = " ".join(str(household).split())  # 1号楼 1单元 301室
    assert labels("钱") == [f"{h1} 钱奶奶", f"{' '.join(str(household2).split())} 钱爷爷"]  # not 钱外人
    assert labels(f"{household.building.name} 301室") == [h1, f"{h1} 钱奶奶"]
    assert labels("1单元 301 钱") == [f"{h1} 钱奶奶"]
    assert labels("") == [] and labels("没有这个人") == []
    # A label from elsewhere, typed by hand, is not taken.
    r = client.post(
        "/care/new/",
        {"who": f"{' '.join(str(far).split())} 钱外人", "category": "shortage", "urgency": "today", "description": "x"},
    )
    assert r.status_code == 200 and "请从列表中选择住户或居民" in r.content.decode()
    # The lookup is for who handles requests only.
    owners = make_user(Role.OWNERS_COMMITTEE, household.neighbourhood, username="yeweihui")
    client.force_login(owners)
    assert client.get("/care/new/who/", {"q": "钱"}).status_code == 404


def test_handling_on_the_detail_page(client, staff, leader, req):
    client.force_login(staff)
    page = client.get(f"/care/{req.pk}/").content.decode()
    assert 'value="accepted"' in page and 'value="done"' not in page
    client.post(f"/care/{req.pk}/assign/", {"who": f"user:{leader.pk}"})
    req.refresh_from_db()
    assert req.assignee == leader
    client.force_login(leader)
    client.post(f"/care/{req.pk}/step/", {"status": "accepted"})
    client.post(f"/care/{req.pk}/step/", {"status": "done", "note": "已送到"})
    req.refresh_from_db()
    assert req.status == Status.DONE
    r = client.post(f"/care/{req.pk}/step/", {"status": "in_progress"}, follow=True)
    assert "不能改为" in r.content.decode()


def test_household_link_page_raise_follow_confirm_reopen(
    client, household, household2, link_token, staff, make_resident
):
    resident = make_resident(household, name="吴伯伯")
    token = link_token(household)
    home = client.get(f"/h/{token}/").content.decode()
    assert "求助与意见" in home and f"/h/{token}/care/" in home
    r = client.post(
        f"/h/{token}/care/",
        {
            "category": "medicine",
            "urgency": "routine",
            "resident": resident.pk,
            "medicine": "硝苯地平控释片",
            "quantity": "2盒",
            "hospital": "中山医院",
            "handed_over": "insurance_card",
            "idempotency_key": "x1",
        },
    )
    assert r.status_code == 302
    req = CareRequest.objects.get()
    assert req.source == "link" and req.resident == resident
    assert ErrandItem.objects.get().hospital == "中山医院"
    # A medicine errand without its medicine is refused.
    r = client.post(f"/h/{token}/care/", {"category": "medicine", "urgency": "routine"})
    assert r.status_code == 200 and CareRequest.objects.count() == 1
    for status in (Status.ACCEPTED, Status.DONE):
        services.request_transition(actor=staff, request=req, status=status, note="药已送到门口")
    page = client.get(f"/h/{token}/care/").content.decode()
    assert "药已送到门口" in page and "确认已办好" in page
    assert "请确认" in client.get(f"/h/{token}/").content.decode()
    client.post(f"/h/{token}/care/{req.pk}/confirm/", {"action": "reopen", "note": "少了一盒"})
    req.refresh_from_db()
    assert req.status == Status.REOPENED
    services.request_transition(actor=staff, request=req, status=Status.DONE)
    client.post(f"/h/{token}/care/{req.pk}/confirm/", {"action": "confirm"})
    req.refresh_from_db()
    assert req.status == Status.CONFIRMED and req.confirmed_at
    # Another household's link cannot touch it.
    other = link_token(household2)
    assert client.post(f"/h/{other}/care/{req.pk}/confirm/", {"action": "reopen", "note": "x"}).status_code == 404
    assert client.get("/h/forged/care/").status_code == 404


def test_household_suggestion_form(client, household, link_token):
    token = link_token(household)
    client.post(f"/h/{token}/care/suggest/", {"text": "头发太长了想理发"})
    page = client.get(f"/h/{token}/care/").content.decode()
    assert "头发太长了想理发" in page and "待答复" in page


def test_staff_merge_and_reply_on_the_page(client, staff, household, household2):
    a = services.suggestion_submit(actor="l", household=household, text="电梯坏了")
    b = services.suggestion_submit(actor="l", household=household2, text="楼道灯不亮")
    client.force_login(staff)
    client.post(f"/care/suggestions/{a.group_id}/merge/", {"others": [b.group_id], "title": "楼道设施维修"})
    client.post(f"/care/suggestions/{a.group_id}/reply/", {"text": "物业明天来修"})
    page = client.get("/care/suggestions/?show=all").content.decode()
    assert "楼道设施维修" in page and "物业明天来修" in page and "2 户提出" in page
    assert "【居委会答复】2 户居民提出“楼道设施维修”。物业明天来修" in page  # the text for the WeChat group


def test_settings_page_saves_limits_and_visit_days(client, staff, neighbourhood):
    client.force_login(staff)
    data = {
        "accept_emergency_minutes": 15,
        "accept_today_minutes": 60,
        "accept_routine_minutes": 600,
        "done_emergency_hours": 2,
        "done_today_hours": 8,
        "done_routine_hours": 48,
        "visit_elderly_alone": 1,
        "visit_elderly_no_family": 1,
        "visit_disabled": 2,
        "visit_bedridden": 1,
    }
    assert client.post("/care/settings/", data).status_code == 302
    s = services.settings_for(neighbourhood.pk)
    assert s.accept_emergency_minutes == 15 and s.visit_days["disabled"] == 2


def test_support_group_page(client, head, staff, volunteer):
    client.force_login(head)
    client.post("/care/support/", {"user": volunteer.pk, "role": "volunteer"})
    assert volunteer.pk in services.support_members(head.assignments.first().neighbourhood_id)
    assert "volunteer" in client.get("/care/support/").content.decode()
