"""Lab result files the database would refuse are refused in the preview, on both databases."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from jiayuan.core.tests.test_spreadsheets import hostile_xlsx
from jiayuan.screening import results_import, services
from jiayuan.screening.choices import ImportStatus
from jiayuan.screening.models import Tube

from .conftest import code


@pytest.fixture
def closed_tube(round_, sampler, residents):
    for r in residents["b1"][:2]:
        services.sample_scan(actor=sampler, round_=round_, tube_barcode="P1", resident_code=code(r))
    services.tube_close(actor=sampler, tube=Tube.objects.get(round=round_, barcode="P1"))


def test_nul_bytes_are_an_error_in_the_preview_not_a_failed_save(staff, round_, closed_tube):
    data = "条码,结果\nP1,阴\x00性\nP\x001,阴性\n".encode()
    job = results_import.result_import_preview(actor=staff, round_=round_, filename="lab.csv", data=data)
    assert job.status == ImportStatus.FAILED
    rows = job.report["rows"]
    assert [r["error"] for r in rows] == ["含有空字符(NUL), 请删除该字符后重新上传"] * 2
    assert all("\x00" not in r["barcode"] and "\x00" not in r["result"] for r in rows)
    with pytest.raises(ValidationError, match="2 行错误"):
        results_import.result_import_commit(actor=staff, job=job)
    assert Tube.objects.get(barcode="P1").result == "pending"


def test_the_hostile_xlsx_is_refused_by_the_preview(staff, round_):
    with pytest.raises(ValidationError) as exc:
        results_import.result_import_preview(actor=staff, round_=round_, filename="lab.xlsx", data=hostile_xlsx())
    assert "表格太大" in exc.value.message_dict["file"][0]
