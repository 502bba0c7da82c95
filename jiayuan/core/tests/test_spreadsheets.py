"""Hostile spreadsheets are refused before they are read, and read where a crash stays contained."""

from __future__ import annotations

import csv
import datetime
import io
import os
import re
import sys
import zipfile
from dataclasses import replace

import openpyxl
import pytest

from jiayuan.core import spreadsheets
from jiayuan.core.spreadsheets import Limits, SpreadsheetError, SpreadsheetUnreadable


def hostile_xlsx() -> bytes:
    """The audit's file: a header in row 1 and one cell at XFD1048576 (a few KB)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "楼号", "室号"])
    ws["XFD1048576"] = "x"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _rewrite_sheet(data: bytes, edit) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = edit(content)
            dst.writestr(info.filename, content)
    return out.getvalue()


def small_xlsx() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "名单"
    ws.append(["姓名", "楼号", datetime.date(2020, 1, 2)])
    ws.append(["张三", 1, 2.5])
    ws.merge_cells("A3:B4")
    ws["A3"] = "合并"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_the_hostile_file_is_small_and_refused_by_its_declared_size():
    data = hostile_xlsx()
    assert len(data) < 10_000
    with pytest.raises(SpreadsheetError) as exc:
        spreadsheets.check_xlsx(data)
    message = str(exc.value)
    assert message.startswith("表格太大")
    assert "XFD1048576" in message and "最多 200,000 行、200 列" in message


def test_a_lying_dimension_is_caught_by_the_real_extent():
    data = _rewrite_sheet(
        hostile_xlsx(), lambda xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:C1"', xml)
    )
    with pytest.raises(SpreadsheetError) as exc:
        spreadsheets.check_xlsx(data)
    assert "的数据一直用到单元格 XFD1048576" in str(exc.value)


def test_cells_without_references_are_counted_by_position():
    """A row with a far ``r`` and cells without ``r`` still has its real position."""

    def edit(xml: bytes) -> bytes:
        xml = re.sub(rb"<dimension [^>]*/>", b"", xml)
        xml = re.sub(rb' r="XFD1048576"', b"", xml)
        return xml

    with pytest.raises(SpreadsheetError) as exc:
        spreadsheets.check_xlsx(_rewrite_sheet(hostile_xlsx(), edit))
    assert "1,048,576 行" in str(exc.value)


def test_limits_are_rows_columns_and_cells():
    data = small_xlsx()
    spreadsheets.check_xlsx(data)  # fine under the defaults
    with pytest.raises(SpreadsheetError, match="最多 2 行"):
        spreadsheets.check_xlsx(data, Limits(max_rows=2))
    with pytest.raises(SpreadsheetError, match="2 列"):
        spreadsheets.check_xlsx(data, Limits(max_columns=2))
    with pytest.raises(SpreadsheetError, match="共 5 个单元格"):
        spreadsheets.check_xlsx(data, Limits(max_cells=5))


def test_unzipped_size_is_capped():
    with pytest.raises(SpreadsheetError, match="解压后超过"):
        spreadsheets.check_xlsx(small_xlsx(), Limits(max_unzipped_mb=0))


def test_not_a_zip_is_left_to_the_reader():
    spreadsheets.check_xlsx(b"not a zip at all")
    with pytest.raises(SpreadsheetUnreadable):
        spreadsheets.read_workbook(b"not a zip at all", limits=Limits())


def test_read_workbook_returns_cells_with_their_types_and_merged_ranges():
    (table,) = spreadsheets.read_workbook(small_xlsx(), limits=Limits())
    assert table.name == "名单"
    assert table.rows[0] == ["姓名", "楼号", datetime.date(2020, 1, 2)]
    assert table.rows[1] == ["张三", 1.0, 2.5]
    assert table.merged == [((2, 0), (3, 1))]


def test_read_workbook_refuses_the_hostile_file_without_reading_it():
    with pytest.raises(SpreadsheetError, match="表格太大"):
        spreadsheets.read_workbook(hostile_xlsx(), limits=Limits())


def test_when_the_reader_blows_up_only_the_child_dies():
    """With the size check switched off the reader tries to allocate 512 GiB, as in the audit:
    the child hits its memory limit and aborts; this process carries on with a clear error."""
    unchecked = Limits(max_rows=10**7, max_columns=10**6, max_cells=10**14, memory_mb=512)
    with pytest.raises(SpreadsheetError) as exc:
        spreadsheets.read_workbook(hostile_xlsx(), limits=unchecked)
    assert "超出内存上限(512 MB)" in str(exc.value)
    assert os.getpid()  # still here


def test_a_killed_child_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(
        spreadsheets, "_child_command", lambda: [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), 9)"]
    )
    with pytest.raises(SpreadsheetError, match="意外退出"):
        spreadsheets.read_workbook(small_xlsx(), limits=Limits())


def test_a_child_that_runs_too_long_is_stopped(monkeypatch):
    monkeypatch.setattr(spreadsheets, "_child_command", lambda: [sys.executable, "-c", "import time; time.sleep(30)"])
    with pytest.raises(SpreadsheetError, match="超时"):
        spreadsheets.read_workbook(small_xlsx(), limits=replace(Limits(), timeout=0.5))


def test_a_child_cannot_send_back_arbitrary_objects(monkeypatch):
    script = "import pickle, sys, os; pickle.dump(('ok', os.system), sys.stdout.buffer)"
    monkeypatch.setattr(spreadsheets, "_child_command", lambda: [sys.executable, "-c", script])
    with pytest.raises(SpreadsheetError, match="意外退出"):
        spreadsheets.read_workbook(small_xlsx(), limits=Limits())


def test_csv_rows_and_columns_are_capped():
    text = "a,b,c\n" * 5
    assert len(spreadsheets.check_csv_rows(csv.reader(io.StringIO(text)), Limits(max_rows=5))) == 5
    with pytest.raises(SpreadsheetError, match="最多 4 行"):
        spreadsheets.check_csv_rows(csv.reader(io.StringIO(text)), Limits(max_rows=4))
    with pytest.raises(SpreadsheetError, match="第 1 行有 3 列, 最多 2 列"):
        spreadsheets.check_csv_rows(csv.reader(io.StringIO(text)), Limits(max_columns=2))


def test_prefixed_element_names_are_seen_too():
    """``<x:c r="XFD1">`` is a cell to the reader as much as ``<c>``."""

    def edit(xml: bytes) -> bytes:
        xml = re.sub(rb"<dimension [^>]*/>", b"", xml)
        xml = xml.replace(
            b"<worksheet ", b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        )
        xml = xml.replace(b"</worksheet>", b"</x:worksheet>")
        return re.sub(rb"<(/?)(row|c)\b", rb"<\1x:\2", xml)

    with pytest.raises(SpreadsheetError, match="XFD1048576"):
        spreadsheets.check_xlsx(_rewrite_sheet(hostile_xlsx(), edit))


def test_a_sheet_without_references_is_measured_exactly_not_refused():
    """Some writers leave ``r`` out: 3 columns in each of 300 rows is 300 × 3, not 900 columns."""
    wb = openpyxl.Workbook()
    for n in range(300):
        wb.active.append(["姓名", n, "x"])
    buf = io.BytesIO()
    wb.save(buf)
    data = _rewrite_sheet(buf.getvalue(), lambda xml: re.sub(rb' r="[A-Z]*\d+"', b"", xml))
    spreadsheets.check_xlsx(data, Limits(max_rows=300, max_columns=3))
    with pytest.raises(SpreadsheetError, match="300 行、3 列"):
        spreadsheets.check_xlsx(data, Limits(max_rows=299, max_columns=3))
