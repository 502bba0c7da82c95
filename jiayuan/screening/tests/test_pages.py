"""The screening pages as a user meets them: create a round, plan it, sample through the
sampler page, enter and upload results, chase the missed, and antigen self-reports."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from jiayuan.accounts import services as account_services
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.screening import services
from jiayuan.screening.models import AntigenReport, Exemption, PlanSlot, Retest, Round, Sample, Tube

from .conftest import code


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def test_create_round_from_page_then_plan(staff_client, frozen, neighbourhood, building, residents):
    resp = staff_client.post(
        "/screening/",
        {
            "kind": "pcr",
            "date": frozen.isoformat(),
            "start_time": "07:00",
            "end_time": "11:00",
            "pool_size": "10",
            "slot_minutes": "20",
            "neighbourhood": neighbourhood.pk,
        },
    )
    round_ = Round.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/screening/{round_.pk}/plan/"
    staff_client.post(
        f"/screening/{round_.pk}/plan/", {"name": "南门采样点", "kind": "fixed", "samplers": 1, "swabs_per_hour": 6}
    )
    resp = staff_client.post(f"/screening/{round_.pk}/plan/generate/", follow=True)
    assert PlanSlot.objects.filter(round=round_).count() == 2
    body = resp.content.decode()
    assert "到南门采样点采样, 请带好核酸码" in body
    assert "1号楼 07:00–07:40 到南门采样点采样" in body  # 4 present in building 1, 2 per 20-minute slot


def test_bad_round_form_shows_errors_not_500(staff_client, neighbourhood):
    resp = staff_client.post(
        "/screening/", {"kind": "pcr", "date": "nope", "pool_size": "7", "neighbourhood": neighbourhood.pk}
    )
    assert resp.status_code == 200
    assert "errorlist" in resp.content.decode()
    assert not Round.objects.exists()


def test_progress_partial_polls(staff_client, round_, residents):
    page = staff_client.get(f"/screening/{round_.pk}/").content.decode()
    assert 'hx-trigger="every 10s"' in page
    partial = staff_client.get(f"/screening/{round_.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "building-progress" in partial and "<html" not in partial


def test_sampler_page_opens_tube_scans_and_fills(client, round_, sampler, residents):
    client.force_login(sampler)
    url = f"/screening/{round_.pk}/sample/scan/"
    assert client.get(f"/screening/{round_.pk}/sample/").status_code == 200
    resp = client.post(url, {"code": "TUBE-1"}, HTTP_HX_REQUEST="true")
    assert "state-tube" in resp.content.decode()
    people = residents["b1"] + residents["b2"]
    for r in people[:4]:
        resp = client.post(url, {"code": code(r)}, HTTP_HX_REQUEST="true")
        assert "state-ok" in resp.content.decode()
    resp = client.post(url, {"code": code(people[0])}, HTTP_HX_REQUEST="true")
    assert "state-error" in resp.content.decode() and "已采样" in resp.content.decode()
    resp = client.post(url, {"code": code(people[4])}, HTTP_HX_REQUEST="true")
    assert "state-full" in resp.content.decode() and "已满 5/5" in resp.content.decode()
    resp = client.post(url, {"code": code(people[5])}, HTTP_HX_REQUEST="true")
    assert "请先扫描试管条码开管" in resp.content.decode()
    assert Tube.objects.get(barcode="TUBE-1").fill_count == 5


def test_sampler_close_by_hand_and_visitor(client, round_, sampler, residents):
    client.force_login(sampler)
    client.post(f"/screening/{round_.pk}/sample/scan/", {"code": "T7"}, HTTP_HX_REQUEST="true")
    resp = client.post(
        f"/screening/{round_.pk}/sample/person/",
        {"name": "访客张", "contact": "13800001111", "kind": "visitor"},
        HTTP_HX_REQUEST="true",
    )
    assert "state-ok" in resp.content.decode()
    resp = client.post(f"/screening/{round_.pk}/sample/close/", HTTP_HX_REQUEST="true")
    assert "已封管" in resp.content.decode()
    assert Tube.objects.get(barcode="T7").status == "closed"
    assert Sample.objects.get().kind == "visitor"


def test_leader_cannot_open_sampler_page(client, round_, make_user, building):
    client.force_login(make_user(Role.BUILDING_LEADER, building))
    assert client.get(f"/screening/{round_.pk}/sample/").status_code == 404
    assert client.get(f"/screening/{round_.pk}/").status_code == 200


def _fill_and_close(round_, sampler, barcode, people):
    for r in people:
        services.sample_scan(actor=sampler, round_=round_, tube_barcode=barcode, resident_code=code(r))
    services.tube_close(actor=sampler, tube=Tube.objects.get(round=round_, barcode=barcode))


def test_hand_result_entry_fans_out(staff_client, round_, sampler, residents):
    _fill_and_close(round_, sampler, "P1", residents["b1"][:2])
    resp = staff_client.post(
        f"/screening/{round_.pk}/results/", {"form": "hand", "barcode": "P1", "result": "positive"}, follow=True
    )
    assert "2人列入单采复核" in resp.content.decode()
    assert Retest.objects.count() == 2
    resp = staff_client.post(
        f"/screening/{round_.pk}/results/", {"form": "hand", "barcode": "NOPE", "result": "negative"}
    )
    assert resp.status_code == 200 and "本轮没有试管 NOPE" in resp.content.decode()
    page = staff_client.get(f"/screening/{round_.pk}/retests/").content.decode()
    assert residents["b1"][0].name in page


def test_upload_preview_then_all_or_nothing_commit(staff_client, round_, sampler, residents):
    _fill_and_close(round_, sampler, "P1", residents["b1"][:2])
    _fill_and_close(round_, sampler, "P2", residents["b2"][:2])
    bad = SimpleUploadedFile("lab.csv", "条码,结果\nP1,阴性\nP9,阳性\n".encode("gbk"))
    resp = staff_client.post(f"/screening/{round_.pk}/results/", {"form": "upload", "file": bad}, follow=True)
    assert "本轮没有试管 P9" in resp.content.decode()
    job_url = resp.redirect_chain[-1][0]
    staff_client.post(job_url, follow=True)
    assert Tube.objects.filter(result="pending").count() == 2  # nothing applied

    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["barcode", "result"])
    wb.active.append(["P1", "negative"])
    wb.active.append(["P2", "阳性"])
    buf = io.BytesIO()
    wb.save(buf)
    good = SimpleUploadedFile("lab.xlsx", buf.getvalue())
    resp = staff_client.post(f"/screening/{round_.pk}/results/", {"form": "upload", "file": good}, follow=True)
    assert "确认导入 2 条结果" in resp.content.decode()
    resp = staff_client.post(resp.redirect_chain[-1][0], follow=True)
    assert dict(Tube.objects.values_list("barcode", "result")) == {"P1": "negative", "P2": "positive"}
    assert Retest.objects.count() == 2
    assert AuditEvent.objects.filter(action="screening.results_import").count() == 1


def test_missed_list_exempt_and_export(staff_client, round_, sampler, residents):
    _fill_and_close(round_, sampler, "P1", residents["b1"][:3])
    page = staff_client.get(f"/screening/{round_.pk}/missed/").content.decode()
    assert residents["b1"][3].name in page and residents["b1"][0].name not in page
    assert "还有" in page and "未做核酸检测" in page  # reminder message
    staff_client.post(f"/screening/{round_.pk}/exempt/{residents['b2'][0].pk}/", {"reason": "医院已检"})
    assert Exemption.objects.filter(resident=residents["b2"][0]).exists()
    resp = staff_client.get(f"/screening/{round_.pk}/missed/export/")
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.content)).active
    names = [row[3] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == sorted([residents["b1"][3].name, residents["b2"][1].name, residents["b2"][2].name])
    assert AuditEvent.objects.filter(action="screening.missed_export").exists()
    assert staff_client.get(f"/screening/{round_.pk}/missed/?building=abc").status_code == 200


def test_household_link_panel_and_antigen_replace_same_day(
    client, settings, tmp_path, frozen, household, residents, staff, events, make_user, other_neighbourhood
):
    settings.MEDIA_ROOT = tmp_path
    token = account_services.household_link_token(
        account_services.household_link_issue(actor=staff, household=household)
    )
    page = client.get(f"/h/{token}/").content.decode()
    me = residents["b1"][0]
    assert code(me) in page and "<svg" in page
    url = f"/h/{token}/screening/antigen/"
    client.post(url, {"resident": me.pk, "result": "negative"})
    # A positive is asked to be confirmed first: without the tick nothing changes.
    resp = client.post(url, {"resident": me.pk, "result": "positive"}, follow=True)
    assert "确认结果为阳性" in resp.content.decode()
    assert AntigenReport.objects.get(resident=me).result == "negative"
    photo = SimpleUploadedFile("a.jpg", b"\xff\xd8\xff fake jpeg", content_type="image/jpeg")
    resp = client.post(
        url, {"resident": me.pk, "result": "positive", "confirm_positive": "1", "photo": photo}, follow=True
    )
    page = resp.content.decode()
    assert "已更新今天的结果" in page
    assert "抗原阳性待核酸复核" in page and 'id="antigen-next"' in page
    report = AntigenReport.objects.get(resident=me)
    assert report.result == "positive" and report.photo
    assert AntigenReport.objects.count() == 1
    assert AuditEvent.objects.filter(action="screening.antigen_report_update").count() == 1
    # Not a case by itself: the resident awaits the PCR retest.
    assert len(events["screening.antigen_positive"]) == 1
    assert events["screening.positive"] == []
    assert Retest.objects.get(antigen_report=report).status == "pending"
    # Someone else's resident through this link: 404.
    assert client.post(url, {"resident": residents["b2"][0].pk, "result": "negative"}).status_code == 404
    assert client.post("/h/forged/screening/antigen/", {"resident": me.pk, "result": "negative"}).status_code == 404

    # Staff may look at the photo; the read is audited, and an outsider gets a 404.
    client.force_login(staff)
    photo_url = f"/screening/antigen/{report.pk}/photo/"
    resp = client.get(photo_url)
    assert resp.status_code == 200 and resp["Content-Type"] == "image/jpeg"
    assert b"".join(resp.streaming_content).startswith(b"\xff\xd8\xff")
    assert AuditEvent.objects.filter(action="screening.antigen_photo_view", object_id=str(report.pk)).count() == 1
    client.force_login(make_user(Role.COMMITTEE_STAFF, other_neighbourhood, username="outsider"))
    assert client.get(photo_url).status_code == 404


def test_positive_antigen_alerts_home_page(client, frozen, residents, staff, make_user, building):
    services.antigen_report_submit(actor=None, resident=residents["b1"][0], date=frozen, result="positive")
    client.force_login(staff)
    home = client.get("/").content.decode()
    assert "筛查阳性提醒" in home and residents["b1"][0].name in home
    client.force_login(make_user(Role.STREET_OFFICER, building.neighbourhood.street))
    assert "筛查阳性提醒" not in client.get("/").content.decode()


def test_leader_reports_antigen_for_resident_without_phone(client, frozen, make_user, building, residents):
    leader = make_user(Role.BUILDING_LEADER, building)
    client.force_login(leader)
    r = residents["b1"][1]
    page = client.get(f"/screening/antigen/?building={building.pk}&no_phone=0").content.decode()
    assert r.name in page
    client.post(
        "/screening/antigen/report/",
        {"resident": r.pk, "result": "negative", "date": frozen.isoformat(), "next": "/screening/antigen/"},
    )
    assert AntigenReport.objects.get(resident=r).channel == "staff"
    page = client.get("/screening/antigen/").content.decode()
    assert "antigen-buildings" in page
    # Another building's resident: 404.
    other = residents["b2"][0]
    assert client.post("/screening/antigen/report/", {"resident": other.pk, "result": "negative"}).status_code == 404


def test_cards_print_for_no_smartphone_residents(staff_client, household, make_resident, building):
    r = make_resident(household, name="无手机老人", tags=["no_smartphone"])
    make_resident(household, name="有手机")
    page = staff_client.get(f"/screening/cards/?building={building.pk}").content.decode()
    assert code(r) in page and "有手机" not in page


def test_nav_shows_screening_and_sampler(client, sampler):
    client.force_login(sampler)
    home = client.get("/").content.decode()
    assert 'href="/screening/"' in home and 'href="/screening/sampler/"' in home


def test_pages_speak_english(client, staff, round_, residents):
    client.force_login(staff)
    page = client.get(f"/screening/{round_.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Expected" in page and "Refreshes every 10 seconds" in page
