"""The web import wizard: upload → check (no writes) → confirm → all-or-nothing commit."""

from __future__ import annotations

import io

import openpyxl
import pytest

from jiayuan.conftest import ID_NUMBERS
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.people.models import Resident, RosterImport
from jiayuan.places.models import Building

HEADER = ["楼号", "单元", "室号", "姓名", "身份证号", "手机"]


def _xlsx(rows) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["泰和居民区人员登记表"])
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


GOOD = [
    ["1号楼", "1", "301", "张伟", ID_NUMBERS[0], "13812345678"],
    ["1号楼", "1", "301", "李娜", ID_NUMBERS[1], ""],
    ["5幢", "2", "602", "王芳", ID_NUMBERS[2], "+86 139 0000 1111"],
]


@pytest.mark.django_db
def test_upload_checks_without_writing_then_commit_writes(
    client, staff, building, upload, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    response = upload(_xlsx(GOOD))
    assert response.status_code == 302
    job = RosterImport.objects.get()
    assert response["Location"] == f"/people/import/{job.pk}/"
    # Jobs run inline in tests: the check is finished and nothing was written.
    page = client.get(response["Location"])
    assert page.context["job"].status == "previewed"
    assert page.context["report"]["valid"] == 3
    assert "将新建楼栋" in page.content.decode() and "5号楼" in page.content.decode()
    assert Resident.objects.count() == 0
    assert not Building.objects.filter(number="5").exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/people/import/{job.pk}/commit/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "committed"
    assert Resident.objects.count() == 3
    assert Resident.objects.get(name="王芳").phone == "13900001111"
    assert AuditEvent.objects.filter(action="roster.import").count() == 1
    assert "导入完成" in client.get(f"/people/import/{job.pk}/").content.decode()


@pytest.mark.django_db
def test_file_with_errors_shows_them_and_cannot_be_committed(client, staff, building, upload):
    client.force_login(staff)
    bad = [*GOOD, ["1号楼", "1", "302", "", "310113198001010012", "12345"]]
    upload(_xlsx(bad))
    job = RosterImport.objects.get()
    page = client.get(f"/people/import/{job.pk}/")
    errors = page.context["errors"]
    assert {e["row"] for e in errors} == {6}  # title row + header row + 3 good rows, then this one
    assert {e["column"] for e in errors} >= {"姓名", "身份证号", "手机"}
    assert 'id="commit"' not in page.content.decode()
    response = client.post(f"/people/import/{job.pk}/commit/", follow=True)
    assert "文件还有错误" in response.content.decode()
    assert Resident.objects.count() == 0


@pytest.mark.django_db
def test_unreadable_file_fails_with_a_message(client, staff, upload):
    client.force_login(staff)
    upload(b"this is not a spreadsheet at all", name="roster.xlsx")
    job = RosterImport.objects.get()
    page = client.get(f"/people/import/{job.pk}/")
    assert job.__class__.objects.get(pk=job.pk).status == "failed"
    assert page.status_code == 200
    assert page.context["job"].error


@pytest.mark.django_db
def test_wrong_extension_is_a_form_error(client, staff, upload):
    client.force_login(staff)
    response = upload(b"x", name="roster.pdf")
    assert response.status_code == 400
    assert "只支持 .xlsx 和 .csv 文件" in response.content.decode()
    assert not RosterImport.objects.exists()


@pytest.mark.django_db
def test_status_poll_by_htmx_returns_the_fragment(client, staff, building, upload):
    client.force_login(staff)
    upload(_xlsx(GOOD))
    job = RosterImport.objects.get()
    fragment = client.get(f"/people/import/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<div id="job"')
    assert "<html" not in fragment


@pytest.mark.django_db
def test_building_leader_cannot_import_and_cannot_see_jobs(client, staff, make_user, building, upload):
    client.force_login(staff)
    upload(_xlsx(GOOD))
    job = RosterImport.objects.get()
    client.force_login(make_user(Role.BUILDING_LEADER, building))
    assert client.get("/people/import/").status_code == 404
    assert client.get(f"/people/import/{job.pk}/").status_code == 404
    assert client.post(f"/people/import/{job.pk}/commit/").status_code == 404


@pytest.mark.django_db
def test_staff_of_another_neighbourhood_cannot_commit_the_job(
    client, staff, make_user, other_neighbourhood, building, upload
):
    client.force_login(staff)
    upload(_xlsx(GOOD))
    job = RosterImport.objects.get()
    client.force_login(make_user(Role.COMMITTEE_STAFF, other_neighbourhood))
    assert client.post(f"/people/import/{job.pk}/commit/").status_code == 404
    assert Resident.objects.count() == 0


@pytest.mark.django_db
def test_export_downloads_masked_xlsx_and_unmasked_needs_permission(client, staff, head, household, make_resident):
    make_resident(household, name="张伟", id_number=ID_NUMBERS[0], phone="13812345678")
    client.force_login(staff)
    response = client.get("/people/export/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
    assert "138****5678" in values and "13812345678" not in values
    refused = client.get("/people/export/?unmasked=1", follow=True)
    assert "没有导出完整证件号和电话的权限" in refused.content.decode()
    client.force_login(head)
    response = client.get("/people/export/?unmasked=1")
    ws = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert "13812345678" in [str(c.value) for row in ws.iter_rows() for c in row]
    assert AuditEvent.objects.filter(action__startswith="roster.export").count() == 2


@pytest.mark.django_db
def test_export_from_english_screens_imports_back(client, head, household, make_resident):
    make_resident(household, name="张伟", id_number=ID_NUMBERS[0], phone="13812345678", presence="away")
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    client.force_login(head)
    data = client.get("/people/export/?unmasked=1").content
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    values = {str(c.value) for row in ws.iter_rows() for c in row}
    assert "外出" in values and "Away" not in values
    from jiayuan.people.importer import roster_import

    report = roster_import(
        actor=head, neighbourhood=household.neighbourhood, data=data, filename="x.xlsx", commit=False
    )
    assert report.errors == [] and report.updated == 1
