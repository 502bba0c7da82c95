"""The bulletin API: draft, publish (frozen, audited, URLs), list filters, 409 ``exists``; notices
and their unread households; the roll-up over the caller's scope."""

from __future__ import annotations

import pytest

from jiayuan.bulletin.models import Bulletin, Notice
from jiayuan.bulletin.tests.conftest import DAY, NAMES, YESTERDAY, bearer
from jiayuan.control import services as control
from jiayuan.control.choices import CaseSource
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.places import services as places

pytestmark = pytest.mark.django_db


def _create(client, user, nb, day=DAY, **extra):
    return client.post(
        "/api/v1/bulletins",
        {"neighbourhood": nb.pk, "date": day.isoformat(), **extra},
        content_type="application/json",
        **bearer(user),
    )


def test_draft_then_publish_by_head(client, crafted_day, head, neighbourhood, building):
    r = _create(client, head, neighbourhood)
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "draft" and body["date"] == DAY.isoformat()
    assert body["public_url"] is None and body["image_url"] is None and body["print_url"] is None
    control = next(s for s in body["sections"] if s["key"] == "control")
    assert set(control) >= {"key", "title", "text", "figures"}
    assert control["figures"]["cases_new"]["value"] == 3
    assert control["figures"][f"cases_new:{building.pk}"]["place"] == building.name

    r = client.post(
        f"/api/v1/bulletins/{body['id']}/publish",
        {"note": "感谢志愿者"},
        content_type="application/json",
        **bearer(head),
    )
    assert r.status_code == 200
    out = r.json()
    assert out["status"] == "published" and out["note"] == "感谢志愿者"
    for key in ("public_url", "image_url", "print_url"):
        assert out[key].startswith("http://testserver/bulletin/p/")
        assert client.get(out[key]).status_code == 200  # no login
    assert AuditEvent.objects.filter(action="bulletin.publish", object_id=str(body["id"])).exists()
    # A second publish: 409.
    again = client.post(f"/api/v1/bulletins/{body['id']}/publish", {}, content_type="application/json", **bearer(head))
    assert again.status_code == 409 and again.json()["code"] == "published"


def test_second_bulletin_for_the_day_is_409_exists(client, residents, head, neighbourhood):
    assert _create(client, head, neighbourhood).status_code == 201
    r = _create(client, head, neighbourhood)
    assert r.status_code == 409 and r.json()["code"] == "exists"
    assert Bulletin.objects.count() == 1


def test_retried_create_is_stored_once(client, residents, head, neighbourhood):
    first = _create(client, head, neighbourhood, idempotency_key="k1")
    second = _create(client, head, neighbourhood, idempotency_key="k1")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]


def test_published_bulletin_is_frozen(client, crafted_day, head, neighbourhood):
    b = _create(client, head, neighbourhood).json()
    client.post(f"/api/v1/bulletins/{b['id']}/publish", {}, content_type="application/json", **bearer(head))
    before = Bulletin.objects.get(pk=b["id"]).sections
    control.case_record(actor=None, resident=crafted_day[5], detected_on=DAY, source=CaseSource.PCR_ROUND)
    listed = client.get(f"/api/v1/bulletins?neighbourhood={neighbourhood.pk}&date={DAY}", **bearer(head)).json()
    assert listed["count"] == 1
    (item,) = listed["items"]
    control_section = next(s for s in item["sections"] if s["key"] == "control")
    assert control_section["figures"]["cases_new"]["value"] == 3  # not 4
    assert Bulletin.objects.get(pk=b["id"]).sections == before
    assert item["public_url"]


def test_list_filters_and_scope(client, residents, head, neighbourhood, other_neighbourhood, make_user):
    _create(client, head, neighbourhood)
    _create(client, head, neighbourhood, day=YESTERDAY)
    assert client.get("/api/v1/bulletins", **bearer(head)).json()["count"] == 2
    assert client.get(f"/api/v1/bulletins?date={YESTERDAY}", **bearer(head)).json()["count"] == 1
    outsider = make_user(Role.COMMITTEE_HEAD, other_neighbourhood)
    assert client.get("/api/v1/bulletins", **bearer(outsider)).json()["count"] == 0
    assert _create(client, outsider, neighbourhood).status_code == 404
    officer = make_user(Role.STREET_OFFICER, neighbourhood.street)
    assert _create(client, officer, neighbourhood).status_code == 404


def test_no_resident_data_in_the_api_answer(client, crafted_day, head, neighbourhood, household):
    b = _create(client, head, neighbourhood).json()
    text = client.post(
        f"/api/v1/bulletins/{b['id']}/publish", {}, content_type="application/json", **bearer(head)
    ).content.decode()
    for name in NAMES:
        assert name not in text
    assert "1391234" not in text and f"{household.room}室" not in text


# --- Notices ---------------------------------------------------------------------------------------


def _notice(client, user, audience, **extra):
    payload = {"kind": "notice", "title": "明早核酸", "body": "七点下楼", "audience": audience, **extra}
    return client.post("/api/v1/notices", payload, content_type="application/json", **bearer(user))


def test_notice_audiences(client, head, neighbourhood, compound, building, building2):
    r = _notice(client, head, {"neighbourhood": neighbourhood.pk})
    assert r.status_code == 201
    assert r.json()["audience"] == {"neighbourhood": neighbourhood.pk, "compounds": None, "buildings": None}
    r = _notice(client, head, {"compounds": [compound.pk]})
    assert r.status_code == 201 and r.json()["audience"]["compounds"] == [compound.pk]
    r = _notice(client, head, {"buildings": [building2.pk]}, requires_ack=True)
    assert r.status_code == 201 and r.json()["audience"]["buildings"] == [building2.pk] and r.json()["requires_ack"]
    assert _notice(client, head, {}).status_code == 422
    assert _notice(client, head, {"neighbourhood": neighbourhood.pk, "buildings": [building.pk]}).status_code == 422


def test_convention_needs_articles(client, head, neighbourhood):
    r = _notice(client, head, {"neighbourhood": neighbourhood.pk}, kind="convention", body="")
    assert r.status_code == 422
    r = _notice(client, head, {"neighbourhood": neighbourhood.pk}, kind="convention", articles=["不聚集", "戴口罩"])
    assert r.status_code == 201 and r.json()["articles"] == ["不聚集", "戴口罩"]


def test_notice_outside_scope_is_404(client, make_user, other_neighbourhood, building):
    outsider = make_user(Role.COMMITTEE_HEAD, other_neighbourhood)
    assert _notice(client, outsider, {"buildings": [building.pk]}).status_code == 404


def test_unread_households_for_a_building_leader(
    client, head, make_user, residents, building, building2, household, household2
):
    notice_id = _notice(client, head, {"buildings": [building.pk, building2.pk]}, requires_ack=True).json()["id"]
    leader = make_user(Role.BUILDING_LEADER, building)
    r = client.get(f"/api/v1/notices/{notice_id}/unread", **bearer(leader))
    assert r.status_code == 200
    assert [h["id"] for h in r.json()["items"]] == [household.pk]  # only the leader's building
    assert r.json()["items"][0]["room"] == household.room
    from jiayuan.bulletin import services

    services.notice_mark_read(notice=Notice.objects.get(pk=notice_id), household=household)
    assert client.get(f"/api/v1/notices/{notice_id}/unread", **bearer(leader)).json()["count"] == 0
    assert client.get(f"/api/v1/notices/{notice_id}/unread", **bearer(head)).json()["count"] == 1
    officer = make_user(Role.STREET_OFFICER, building.neighbourhood.street)
    assert client.get(f"/api/v1/notices/{notice_id}/unread", **bearer(officer)).status_code == 404


# --- Roll-up ---------------------------------------------------------------------------------------


def test_rollup_for_a_street_officer(client, crafted_day, make_user, neighbourhood, other_neighbourhood, street):
    officer = make_user(Role.STREET_OFFICER, street)
    r = client.get(f"/api/v1/rollup?date={DAY}", **bearer(officer))
    assert r.status_code == 200
    rows = {row["neighbourhood_id"]: row for row in r.json()["items"]}
    assert set(rows) == {neighbourhood.pk, other_neighbourhood.pk}
    mine = rows[neighbourhood.pk]
    assert (mine["residents"], mine["present"], mine["cases_new"], mine["sealed_buildings"]) == (8, 8, 3, 2)
    assert (mine["sampled_today"], mine["antigen_reported_today"]) == (5, 4)
    assert rows[other_neighbourhood.pk]["residents"] == 0
    other_street = places.street_create(actor=None, code="S2", name="大场镇")
    far = places.neighbourhood_create(actor=None, street=other_street, code="F1", name="远方居民区")
    assert far.pk not in {row["neighbourhood_id"] for row in r.json()["items"]}
    assert "name" in mine and all(k not in mine for k in ("residents_list", "names"))
