"""Pages through the user's scope; the finding photo (audited read, retention); the home page's
rows; the bulletin section with yesterday's figures; the demo loader."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from jiayuan.core import extensions
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.operations import services, today
from jiayuan.operations.choices import PointKind, TaskStatus
from jiayuan.operations.models import DisinfectionRound, Finding, GarbageRound, RentalCase, Task

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

PAGES = ["index", "tasks", "patrols", "disinfection", "garbage", "finding_new"]


@pytest.mark.parametrize(
    ("who", "opens"),
    [
        ("staff", set(PAGES) | {"cases", "settings"}),
        ("owners", set(PAGES)),
        ("prop", set(PAGES)),
        ("leader", set(PAGES)),
        ("volunteer", {"index", "patrols", "disinfection", "garbage", "finding_new"}),
    ],
)
def test_pages_open_for_the_roles_that_may_use_them(client, request, who, opens):
    client.force_login(request.getfixturevalue(who))
    for name in [*PAGES, "cases", "settings"]:
        status = client.get(reverse(f"operations:{name}")).status_code
        assert status == (200 if name in opens else 404), (who, name, status)


def test_street_officer_sees_no_operations(client, make_user, neighbourhood):
    client.force_login(make_user(Role.STREET_OFFICER, neighbourhood.street))
    assert client.get(reverse("operations:index")).status_code == 404


def test_building_leader_sees_their_buildings_tasks_only(client, report, leader, building, building2):
    mine = report(building=building, place="1号楼门口")
    other = report(building=building2, place="2号楼门口")
    common = report(place="中心花园")
    client.force_login(leader)
    page = client.get(reverse("operations:tasks")).content.decode()
    assert "1号楼门口" in page and "2号楼门口" not in page and "中心花园" not in page
    assert client.get(reverse("operations:task", args=[mine.pk])).status_code == 200
    assert client.get(reverse("operations:task", args=[other.pk])).status_code == 404
    assert client.get(reverse("operations:task", args=[common.pk])).status_code == 404


def test_log_a_finding_with_a_photo_view_it_audited_and_purge_it(
    client, owners, staff, building, neighbourhood, django_capture_on_commit_callbacks
):
    client.force_login(owners)
    photo = SimpleUploadedFile("wall.png", PNG, content_type="image/png")
    r = client.post(
        reverse("operations:finding_new"),
        {"kind": "over_wall", "building": building.pk, "place": "东墙", "note": "递物", "photo": photo},
    )
    finding = Finding.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("operations:task", args=[finding.task.pk])
    assert finding.photo
    client.force_login(staff)
    r = client.get(reverse("operations:finding_photo", args=[finding.pk]))
    assert r.status_code == 200 and b"".join(r.streaming_content) == PNG
    assert AuditEvent.objects.filter(action="operations.finding_photo_view", actor=staff).count() == 1
    name = finding.photo.name
    assert services.finding_photos_purge(timezone.now(), dry_run=False) == 0  # too young
    later = timezone.now() + dt.timedelta(days=services.PHOTO_DAYS + 1)
    assert services.finding_photos_purge(later, dry_run=True) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert services.finding_photos_purge(later, dry_run=False) == 1
    finding.refresh_from_db()
    assert not finding.photo and not finding._meta.get_field("photo").storage.exists(name)


def test_task_page_property_fixes_owners_check(client, report, staff, prop, owners):
    task = report()
    client.force_login(staff)
    client.post(reverse("operations:task_move", args=[task.pk, "assigned"]), {"assignee": "property"})
    client.force_login(prop)
    page = client.get(reverse("operations:task", args=[task.pk])).content.decode()
    assert "已整改" in page and "验收通过" not in page
    client.post(reverse("operations:task_move", args=[task.pk, "checked"]))  # refused: not theirs
    assert Task.objects.get(pk=task.pk).status == TaskStatus.ASSIGNED
    client.post(reverse("operations:task_move", args=[task.pk, "fixed"]), {"note": "已清运"})
    client.force_login(owners)
    client.post(reverse("operations:task_move", args=[task.pk, "checked"]), {"note": ""})
    assert Task.objects.get(pk=task.pk).status == TaskStatus.CHECKED


def test_boards_log_rounds(client, volunteer, compound, building2, head):
    point = services.point_create(
        actor=head, compound=compound, building=building2, kind=PointKind.LIFT, name="2号楼电梯"
    )
    client.force_login(volunteer)
    assert "2号楼电梯" in client.get(reverse("operations:disinfection")).content.decode()
    client.post(reverse("operations:disinfection_log", args=[point.pk]), {"agent": "84消毒液"})
    assert DisinfectionRound.objects.get().agent == "84消毒液"
    client.post(reverse("operations:garbage_log", args=[building2.pk]), {"bags": "7"})
    assert GarbageRound.objects.get().bags == 7


def test_cases_page_registers_a_case_and_an_occupant(client, staff, household):
    client.force_login(staff)
    r = client.post(
        reverse("operations:cases"),
        {"kind": "group_rental", "building": household.building_id, "unit": household.unit, "room": household.room},
    )
    case = RentalCase.objects.get()
    assert r.status_code == 302
    client.post(reverse("operations:case_step", args=[case.pk]), {"status": "inspected", "beds": "6", "occupants": "9"})
    client.post(reverse("operations:case_occupant", args=[case.pk]), {"name": "孙留住"})
    case.refresh_from_db()
    assert (case.status, case.beds, case.registered) == ("inspected", 6, 1)
    assert "孙留住" in client.get(reverse("operations:case", args=[case.pk])).content.decode()


def test_today_rows_for_the_property_company_and_the_committee(rf, report, staff, prop, owners, compound, building):
    services.point_create(actor=staff, compound=compound, building=building, kind=PointKind.LOBBY, name="大堂")
    task = report()
    services.task_set_status(actor=staff, task=task, status=TaskStatus.ASSIGNED)
    day = timezone.localdate()
    with time_machine.travel(timezone.make_aware(dt.datetime.combine(day, dt.time(23, 0))) + dt.timedelta(days=1)):
        request = rf.get("/")
        request.user = prop
        labels = {str(i.label): i for i in today.today(request)}
        assert labels["项整改任务已逾期"].count == 1
        assert labels["个点位消杀已超时"].count == 1
        assert labels["栋楼今天垃圾未清运"].count == 1
        assert "项整改待验收" not in labels  # the property company does not check
        request.user = owners
        assert "项整改待验收" in {str(i.label) for i in today.today(request)}


def test_bulletin_section_compares_with_yesterday(staff, neighbourhood, compound, building, building2, report):
    point = services.point_create(actor=staff, compound=compound, kind=PointKind.GATE, name="南门")
    now = timezone.now()
    with time_machine.travel(now - dt.timedelta(days=1)):
        services.disinfection_log(actor=staff, point=point)
    services.disinfection_log(actor=staff, point=point)
    services.disinfection_log(actor=staff, point=point)
    services.garbage_log(actor=staff, building=building)
    section = today.bulletin(neighbourhood, timezone.localdate())
    figures = {f.key: f for f in section.figures}
    assert (figures["disinfections"].value, figures["disinfections"].previous) == (2, 1)
    assert figures["garbage"].value == 1 and not figures["garbage"].people
    assert any(building2.name in str(line) for line in section.lines)
    assert ("operations", today.bulletin) in extensions.bulletin_sections()
    trend = today.trend_disinfections(neighbourhood, timezone.localdate() - dt.timedelta(days=1), timezone.localdate())
    assert sum(trend.values()) == 3


def test_demo_loads_once(head, neighbourhood, building, building2, household, make_user):
    for username, role in (
        ("staff", Role.COMMITTEE_STAFF),
        ("owners", Role.OWNERS_COMMITTEE),
        ("property", Role.PROPERTY_STAFF),
    ):
        make_user(role, neighbourhood, username=username)
    from jiayuan.operations import demo

    out = io.StringIO()
    demo.load(neighbourhood=neighbourhood, stdout=out)
    statuses = set(Task.objects.values_list("status", flat=True))
    assert statuses == {"open", "assigned", "fixed", "checked"}
    assert RentalCase.objects.count() == 1 and GarbageRound.objects.exists()
    count = Task.objects.count()
    demo.load(neighbourhood=neighbourhood, stdout=out)
    assert Task.objects.count() == count and "already" in out.getvalue()


def test_volunteer_home_shows_the_way_to_the_boards_staff_home_does_not(client, volunteer, staff):
    client.force_login(volunteer)
    html = client.get("/").content.decode()
    assert 'id="operations-panel"' in html and reverse("operations:disinfection") in html
    client.force_login(staff)
    assert 'id="operations-panel"' not in client.get("/").content.decode()


def test_index_offers_todays_figures_for_the_wechat_group_without_names(client, report, staff, building):
    report(building=building, place="1号楼门口")
    client.force_login(staff)
    html = client.get(reverse("operations:index")).content.decode()
    assert "【今日巡查消杀" in html and "整改: 1 项待整改 (其中 0 项逾期), 0 项待验收" in html
    assert "1号楼门口" in html  # the findings list names places; the text to paste does not
    start = html.index('id="share-text"')
    assert "1号楼门口" not in html[start : html.index("</textarea>", start)]
