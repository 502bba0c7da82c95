"""The operations API: POST /patrol-findings (201 with the task), POST /tasks/{id}/status (409
with code), GET /tasks (status, overdue), GET /operations/today; scope 404; idempotent writes."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from jiayuan.accounts.services import api_token_create
from jiayuan.operations import services
from jiayuan.operations.choices import PointKind
from jiayuan.operations.models import Finding, Task


def auth(user) -> dict:
    _token, key = api_token_create(actor=None, user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def post(client, url, body, user):
    return client.post(url, body, content_type="application/json", **auth(user))


def test_finding_answers_with_its_open_task_and_retries_are_stored_once(client, owners, building):
    body = {
        "kind": "over_wall",
        "place": "东侧围墙",
        "note": "隔墙递物",
        "building": building.pk,
        "idempotency_key": "k1",
    }
    r = post(client, "/api/v1/patrol-findings", body, owners)
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["status"] == "open" and data["building_id"] == building.pk and data["kind"] == "over_wall"
    assert Task.objects.get(pk=data["id"]).finding.note == "隔墙递物"
    again = post(client, "/api/v1/patrol-findings", body, owners)
    assert again.status_code == 201 and again.json()["id"] == data["id"]
    assert Finding.objects.count() == 1


def test_finding_without_building_is_the_neighbourhoods_and_bad_input_is_422(client, owners, neighbourhood):
    r = post(client, "/api/v1/patrol-findings", {"kind": "gathering", "place": "中心花园", "note": ""}, owners)
    assert r.status_code == 201
    assert Task.objects.get(pk=r.json()["id"]).neighbourhood_id == neighbourhood.pk
    r = post(client, "/api/v1/patrol-findings", {"kind": "ufo", "place": "x"}, owners)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "kind"


def test_finding_in_a_building_out_of_scope_is_404_and_without_the_right_403(
    client, leader, building2, make_user, neighbourhood
):
    r = post(client, "/api/v1/patrol-findings", {"kind": "hazard", "place": "x", "building": building2.pk}, leader)
    assert r.status_code == 404
    from jiayuan.core.permissions import Role

    officer = make_user(Role.STREET_OFFICER, neighbourhood.street)
    assert post(client, "/api/v1/patrol-findings", {"kind": "hazard", "place": "x"}, officer).status_code == 403


def test_task_status_steps_and_conflicts(client, report, staff, prop, owners):
    task = report()
    url = f"/api/v1/tasks/{task.pk}/status"
    r = post(client, url, {"status": "fixed", "note": ""}, prop)
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    r = post(client, url, {"status": "assigned", "note": "请物业清运", "assignee": "property"}, prop)
    assert r.status_code == 409 and r.json()["code"] == "not_allowed" and r.json()["detail"]
    r = post(client, url, {"status": "assigned", "note": "请物业清运", "assignee": "property"}, staff)
    assert r.status_code == 200 and r.json()["status"] == "assigned" and r.json()["assignee"] == "property"
    r = post(client, url, {"status": "fixed", "note": "已清运", "idempotency_key": "fix-1"}, prop)
    assert r.status_code == 200 and r.json()["status"] == "fixed"
    assert post(client, url, {"status": "fixed", "note": "已清运", "idempotency_key": "fix-1"}, prop).status_code == 200
    r = post(client, url, {"status": "checked", "note": ""}, prop)
    assert r.status_code == 409 and r.json()["code"] == "not_allowed"
    r = post(client, url, {"status": "checked", "note": "看过了"}, owners)
    assert r.status_code == 200 and r.json()["status"] == "checked"
    assert post(client, url, {"status": "done"}, owners).status_code == 422


def test_task_out_of_scope_is_404(client, report, leader, building2, make_user, neighbourhood):
    task = report(building=building2)
    assert post(client, f"/api/v1/tasks/{task.pk}/status", {"status": "assigned"}, leader).status_code == 404
    assert post(client, "/api/v1/tasks/999999/status", {"status": "assigned"}, make_user()).status_code == 404


def test_task_list_filters_and_scope(client, report, staff, leader, building, building2):
    mine = report(building=building, place="1号楼门口")
    other = report(building=building2, place="2号楼门口")
    services.task_set_status(actor=staff, task=other, status="assigned")
    r = client.get("/api/v1/tasks", **auth(staff))
    assert r.json()["count"] == 2
    r = client.get("/api/v1/tasks?status=assigned", **auth(staff))
    assert [t["id"] for t in r.json()["items"]] == [other.pk]
    assert [t["id"] for t in client.get("/api/v1/tasks", **auth(leader)).json()["items"]] == [mine.pk]
    assert client.get("/api/v1/tasks?overdue=true", **auth(staff)).json()["count"] == 0
    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        items = client.get("/api/v1/tasks?overdue=true", **auth(staff)).json()["items"]
        assert {t["id"] for t in items} == {mine.pk, other.pk} and all(t["overdue"] for t in items)
    assert client.get("/api/v1/tasks?status=nope", **auth(staff)).status_code == 422


def test_today_lists_disinfection_and_garbage_per_place_and_building(
    client, staff, leader, compound, building, building2
):
    services.point_create(actor=staff, compound=compound, building=building, kind=PointKind.LOBBY, name="1号楼大堂")
    services.point_create(actor=staff, compound=compound, building=building2, kind=PointKind.LOBBY, name="2号楼大堂")
    services.garbage_log(actor=staff, building=building)
    data = client.get("/api/v1/operations/today", **auth(staff)).json()
    assert data["date"] == timezone.localdate().isoformat()
    assert {d["name"] for d in data["disinfection"]} == {"1号楼大堂", "2号楼大堂"}
    row = next(d for d in data["disinfection"] if d["name"] == "1号楼大堂")
    assert (row["zone"], row["due"], row["done"]) == ("precaution", 1, 0)
    garbage = {g["building_id"]: g for g in data["garbage"]}
    assert garbage[building.pk]["done"] == 1 and garbage[building2.pk]["done"] == 0
    assert garbage[building.pk]["mode"] == "bin_point"
    # A building leader sees their building only.
    data = client.get("/api/v1/operations/today", **auth(leader)).json()
    assert [d["name"] for d in data["disinfection"]] == ["1号楼大堂"]
    assert [g["building_id"] for g in data["garbage"]] == [building.pk]


@pytest.mark.parametrize("url", ["/api/v1/tasks", "/api/v1/operations/today"])
def test_no_token_is_401(client, url):
    assert client.get(url).status_code == 401
