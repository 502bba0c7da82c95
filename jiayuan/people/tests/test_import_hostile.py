"""Hostile and broken import files, jobs whose process is gone, and the import template."""

from __future__ import annotations

import datetime as dt
import io
import os
import socket
import subprocess
import sys

import openpyxl
import pytest
from django.core.cache import cache
from django.utils import timezone

from jiayuan.conftest import ID_NUMBERS
from jiayuan.core import spreadsheets
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.core.tests.test_spreadsheets import hostile_xlsx
from jiayuan.people import exporter, import_jobs, importer
from jiayuan.people.choices import ImportStatus
from jiayuan.people.importer import roster_import
from jiayuan.people.models import Resident, RosterImport


def _xlsx(rows) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


GOOD = [["楼号", "室号", "姓名", "身份证号"], ["1号楼", "301", "张伟", ID_NUMBERS[0]]]


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# --- Hostile files ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_hostile_xlsx_is_refused_with_a_message_and_the_app_survives(client, staff, upload):
    client.force_login(staff)
    assert upload(hostile_xlsx()).status_code == 302
    job = RosterImport.objects.get()
    assert job.status == ImportStatus.FAILED
    assert job.error.startswith("表格太大") and "XFD1048576" in job.error
    page = client.get(f"/people/import/{job.pk}/")
    assert page.status_code == 200
    assert "表格太大" in page.content.decode()
    assert not page.context["interrupted"]  # the file itself was refused: 重新上传 comes first


@pytest.mark.django_db
def test_a_reader_over_its_memory_limit_fails_the_job_not_the_process(client, staff, upload, settings):
    """The size check switched off: the reader tries the 512 GiB grid, in the child only."""
    settings.JIAYUAN_IMPORT_MAX_ROWS = 10**7
    settings.JIAYUAN_IMPORT_MAX_COLUMNS = 10**6
    settings.JIAYUAN_IMPORT_MAX_CELLS = 10**14
    settings.JIAYUAN_IMPORT_MEMORY_MB = 512
    client.force_login(staff)
    upload(hostile_xlsx())
    job = RosterImport.objects.get()
    assert job.status == ImportStatus.FAILED
    assert "超出内存上限(512 MB)" in job.error
    assert not Resident.objects.exists()


@pytest.mark.django_db
def test_a_killed_reader_fails_the_job_and_it_can_be_checked_again(
    client, staff, building, upload, monkeypatch, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    with monkeypatch.context() as patch:
        kill = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]
        patch.setattr(spreadsheets, "_child_command", lambda: kill)
        upload(_xlsx(GOOD))
    job = RosterImport.objects.get()
    assert job.status == ImportStatus.FAILED
    assert "意外退出" in job.error
    page = client.get(f"/people/import/{job.pk}/").content.decode()
    assert 'id="restart"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/people/import/{job.pk}/restart/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.PREVIEWED
    assert job.attempt == 2
    assert job.report["valid"] == 1
    assert AuditEvent.objects.filter(action="roster_import.restart").count() == 1


@pytest.mark.django_db
def test_lab_results_refuse_the_hostile_xlsx(neighbourhood, staff):
    from django.core.exceptions import ValidationError

    from jiayuan.screening import results_import

    with pytest.raises(ValidationError) as exc:
        results_import.parse_results(hostile_xlsx(), "results.xlsx")
    assert exc.value.message_dict["file"][0].startswith("表格太大")


# --- What the commit would refuse, the preview finds -----------------------------------------------


def _csv(text: str) -> bytes:
    return text.encode("utf-8")


@pytest.mark.django_db(transaction=True)
def test_nul_bytes_are_found_by_the_preview_exactly_as_the_commit_refuses_them(neighbourhood, compound, building):
    data = _csv(
        "楼号,室号,姓名,身份证号,备注,无关列\n"
        f"1号楼,301,张\x00伟,{ID_NUMBERS[0]},,\n"
        f"1号楼,302,李娜,{ID_NUMBERS[1]},备\x00注,\n"
        f"1号楼,303,王芳,{ID_NUMBERS[2]},,x\x00y\n"  # a column nobody reads: nothing to store
        "1号楼,4000001,赵六,,,\n"  # floor 40,000: beyond what the database's floor column holds
    )
    preview = roster_import(actor=None, neighbourhood=neighbourhood, data=data, filename="r.csv", commit=False)
    found = [(e.row, e.column) for e in preview.errors]
    assert found == [(2, "姓名"), (3, "备注"), (5, "室号")]
    assert "空字符(NUL)" in preview.errors[0].message
    assert "楼层数不合理" in preview.errors[2].message
    committed = roster_import(actor=None, neighbourhood=neighbourhood, data=data, filename="r.csv", commit=True)
    assert [(e.row, e.column, e.message) for e in committed.errors] == [
        (e.row, e.column, e.message) for e in preview.errors
    ]
    assert not committed.committed
    assert not Resident.objects.exists()


@pytest.mark.django_db
def test_a_neutralised_formula_from_our_export_reads_back_as_typed(neighbourhood, compound, building):
    data = _csv("楼号,室号,姓名,备注\n1号楼,301,张伟,'-已搬走\n1号楼,302,'=李娜,'@x\n")
    report = roster_import(actor=None, neighbourhood=neighbourhood, data=data, filename="r.csv", commit=True)
    assert report.committed, report.errors
    assert dict(Resident.objects.values_list("name", "notes")) == {"张伟": "-已搬走", "=李娜": "@x"}


@pytest.mark.django_db
def test_csv_over_the_row_limit_is_refused(neighbourhood, settings):
    settings.JIAYUAN_IMPORT_MAX_ROWS = 3
    data = _csv("楼号,室号,姓名\n" + "1号楼,301,张伟\n" * 5)
    with pytest.raises(importer.ImportFileError, match="表格太大: 最多 3 行"):
        roster_import(actor=None, neighbourhood=neighbourhood, data=data, filename="r.csv", commit=False)


# --- Jobs whose process is gone ------------------------------------------------------------------


def _stuck_job(neighbourhood, user, *, status=ImportStatus.PREVIEWING, worker="", started_ago=0) -> RosterImport:
    return RosterImport.objects.create(
        neighbourhood=neighbourhood,
        created_by=user,
        filename="roster.xlsx",
        data=_xlsx(GOOD),
        status=status,
        attempt=1,
        worker=worker,
        started_at=timezone.now() - dt.timedelta(seconds=started_ago),
    )


@pytest.mark.django_db
def test_a_job_whose_process_died_is_shown_failed_and_can_be_started_again(
    client, staff, neighbourhood, building, django_capture_on_commit_callbacks
):
    """After a restart: the job says 正在检查, but the process that ran it no longer exists."""
    job = _stuck_job(neighbourhood, staff, worker=f"{socket.gethostname()}:{_dead_pid()}")
    client.force_login(staff)
    page = client.get(f"/people/import/{job.pk}/")
    html = page.content.decode()
    assert page.context["job"].status == ImportStatus.FAILED
    assert "导入已中断" in html and 'id="restart"' in html
    assert page.context["interrupted"]  # 重新检查 is the first button
    assert "hx-trigger" not in html  # no longer polling
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    event = AuditEvent.objects.get(action="roster_import.interrupted")
    assert event.actor_label == "system"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/people/import/{job.pk}/restart/")
    job.refresh_from_db()
    assert job.status == ImportStatus.PREVIEWED and job.attempt == 2


@pytest.mark.django_db
def test_a_commit_gone_silent_elsewhere_is_shown_failed_on_the_upload_page(client, staff, neighbourhood):
    """Another node ran it (the pid cannot be checked here): no heartbeat for longer than allowed."""
    job = _stuck_job(
        neighbourhood,
        staff,
        status=ImportStatus.COMMITTING,
        worker="other-node:4242",
        started_ago=import_jobs.HEARTBEAT_TTL + 5,
    )
    client.force_login(staff)
    page = client.get("/people/import/")
    assert "失败" in page.content.decode()
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and job.error == import_jobs.MSG_INTERRUPTED


@pytest.mark.django_db
def test_a_running_job_with_a_heartbeat_is_left_alone(client, staff, neighbourhood):
    job = _stuck_job(neighbourhood, staff, worker="other-node:4242", started_ago=3600)
    cache.set(import_jobs._alive_key(job.pk, job.attempt), "running", 60)
    try:
        client.force_login(staff)
        page = client.get(f"/people/import/{job.pk}/")
        assert page.context["running"]
        assert client.post(f"/people/import/{job.pk}/restart/", follow=True).context["job"].status == "previewing"
    finally:
        cache.delete(import_jobs._alive_key(job.pk, job.attempt))
    job.refresh_from_db()
    assert job.status == ImportStatus.PREVIEWING and job.attempt == 1


@pytest.mark.django_db
def test_a_queued_job_waits_for_a_worker_before_it_counts_as_lost(staff, neighbourhood, settings):
    settings.JIAYUAN_IMPORT_QUEUE_GRACE = 600
    job = _stuck_job(neighbourhood, staff, started_ago=300)  # never picked up, no heartbeat
    assert not import_jobs.roster_import_is_stale(job)
    job.started_at = timezone.now() - dt.timedelta(seconds=700)
    assert import_jobs.roster_import_is_stale(job)


@pytest.mark.django_db
def test_a_late_run_of_an_old_attempt_changes_nothing(staff, neighbourhood, building):
    job = _stuck_job(neighbourhood, staff)
    job.attempt = 3
    job.save(update_fields=["attempt"])
    import_jobs.roster_import_run(job.pk, False, 2)
    job.refresh_from_db()
    assert job.status == ImportStatus.PREVIEWING and job.report == {}
    import_jobs.roster_import_run(job.pk, False, 3)
    job.refresh_from_db()
    assert job.status == ImportStatus.PREVIEWED and job.worker == f"{socket.gethostname()}:{os.getpid()}"


@pytest.mark.django_db
def test_a_job_that_is_not_failed_cannot_be_restarted(client, staff, building, upload):
    client.force_login(staff)
    upload(_xlsx(GOOD))
    job = RosterImport.objects.get()
    assert job.status == ImportStatus.PREVIEWED
    response = client.post(f"/people/import/{job.pk}/restart/", follow=True)
    assert "只能重新检查失败或中断的导入" in response.content.decode()


@pytest.mark.django_db
def test_others_cannot_restart_a_job(client, staff, make_user, other_neighbourhood, neighbourhood, building):
    job = _stuck_job(neighbourhood, staff, status=ImportStatus.FAILED)
    client.force_login(make_user(Role.COMMITTEE_STAFF, other_neighbourhood))
    assert client.post(f"/people/import/{job.pk}/restart/").status_code == 404
    client.force_login(make_user(Role.BUILDING_LEADER, building))
    assert client.post(f"/people/import/{job.pk}/restart/").status_code == 404


# --- The template --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_import_page_offers_a_template_that_checks_without_errors(client, staff, building, upload):
    client.force_login(staff)
    page = client.get("/people/import/").content.decode()
    assert 'href="/people/import/template.xlsx"' in page
    response = client.get("/people/import/template.xlsx")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == [header for header, _width, _text in exporter._COLUMNS]
    assert len(rows) == 2
    example = dict(zip(rows[0], rows[1], strict=True))
    assert example["小区"] == "泰和苑" and example["楼号"] == "1"
    # Every header is one the importer reads.
    assert all(importer._header_key(header) for header in rows[0])

    upload(response.content, name="roster-template.xlsx")
    job = RosterImport.objects.get()
    assert job.status == ImportStatus.PREVIEWED, job.error
    assert job.report["errors"] == []
    assert job.report["valid"] == 1


@pytest.mark.django_db
def test_the_template_is_only_for_who_may_import(client, make_user, building):
    client.force_login(make_user(Role.BUILDING_LEADER, building))
    assert client.get("/people/import/template.xlsx").status_code == 404
