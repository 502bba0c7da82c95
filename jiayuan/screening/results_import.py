"""Lab result files (CSV or xlsx, columns barcode and result): a preview first, then an
all-or-nothing commit through ``services.tube_result_record``, audited as one import.

Headers are recognised in Chinese or English (条码/试管/barcode/tube, 结果/result); without a
header row the first two columns are taken. Results: 阴性/negative/neg/-/0 and
阳性/positive/pos/+/1.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from jiayuan.core import spreadsheets
from jiayuan.core.audit import audit_record
from jiayuan.screening import services
from jiayuan.screening.choices import ImportStatus, TubeResult, TubeStatus
from jiayuan.screening.models import ResultImport, Round, Tube

__all__ = ["MAX_BYTES", "parse_results", "result_import_commit", "result_import_preview"]

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
_BARCODE_HEADERS = {"条码", "试管条码", "试管", "管码", "barcode", "tube", "tube barcode"}
_RESULT_HEADERS = {"结果", "检测结果", "result"}
_RESULTS = {
    "阴性": TubeResult.NEGATIVE,
    "negative": TubeResult.NEGATIVE,
    "neg": TubeResult.NEGATIVE,
    "-": TubeResult.NEGATIVE,
    "0": TubeResult.NEGATIVE,
    "阳性": TubeResult.POSITIVE,
    "positive": TubeResult.POSITIVE,
    "pos": TubeResult.POSITIVE,
    "+": TubeResult.POSITIVE,
    "1": TubeResult.POSITIVE,
}


def _cell(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value if value is not None else "").strip()


def _rows(data: bytes, filename: str) -> list[list[str]]:
    limits = spreadsheets.Limits.from_settings()
    if filename.lower().endswith((".xlsx", ".xls", ".xlsm", ".ods")):
        # Size-checked, then read in a child process: a hostile file cannot take the app down.
        try:
            tables = spreadsheets.read_workbook(data, first_only=True, skip_empty_area=True, limits=limits)
        except spreadsheets.SpreadsheetUnreadable as exc:
            raise ValidationError({"file": ["无法读取该表格文件"]}) from exc
        except spreadsheets.SpreadsheetError as exc:
            raise ValidationError({"file": [str(exc)]}) from exc
        if not tables:
            raise ValidationError({"file": ["无法读取该表格文件"]})
        return [[_cell(c) for c in row] for row in tables[0].rows]
    for encoding in ("utf-8-sig", "gbk"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationError({"file": ["文件编码无法识别(请用 UTF-8 或 GBK 的 CSV, 或 xlsx)"]})
    try:
        rows = spreadsheets.check_csv_rows(csv.reader(io.StringIO(text)), limits)
    except spreadsheets.SpreadsheetError as exc:
        raise ValidationError({"file": [str(exc)]}) from exc
    return [[_cell(c) for c in row] for row in rows]


def parse_results(data: bytes, filename: str) -> list[tuple[int, str, str]]:
    """``(line number, barcode, raw result)`` for each non-blank row."""
    rows = _rows(data, filename)
    if not rows:
        raise ValidationError({"file": ["文件是空的"]})
    first = [c.lower() for c in rows[0]]
    b_col, r_col, start = 0, 1, 0
    if any(c in _BARCODE_HEADERS for c in first):
        b_col = next(i for i, c in enumerate(first) if c in _BARCODE_HEADERS)
        r_col = next((i for i, c in enumerate(first) if c in _RESULT_HEADERS), -1)
        if r_col < 0:
            raise ValidationError({"file": ["找不到“结果”列"]})
        start = 1
    out = []
    for line, row in enumerate(rows[start:], start=start + 1):
        barcode = row[b_col] if len(row) > b_col else ""
        raw = row[r_col] if len(row) > r_col else ""
        if not barcode and not raw:
            continue
        out.append((line, barcode, raw))
        if len(out) > MAX_ROWS:
            raise ValidationError({"file": [f"一次最多导入 {MAX_ROWS} 行"]})
    return out


def _check(round_: Round, parsed: list[tuple[int, str, str]]) -> dict:
    barcodes = [b.replace("\x00", "") for _l, b, _r in parsed]  # PostgreSQL refuses NUL even as a parameter
    tubes = {
        t["barcode"]: t
        for t in Tube.objects.filter(round=round_, barcode__in=barcodes).values("barcode", "status", "result")
    }
    rows, seen = [], {}
    counts = {"rows": 0, "ok": 0, "unchanged": 0, "errors": 0, "positive": 0}
    for line, barcode, raw in parsed:
        # A NUL cannot be stored (PostgreSQL text and JSON refuse it): refused here, in the
        # preview, rather than failing the save with an internal error.
        has_nul = "\x00" in barcode or "\x00" in raw
        if has_nul:
            barcode, raw = barcode.replace("\x00", ""), raw.replace("\x00", "")
        result = _RESULTS.get(raw.strip().lower())
        error = ""
        tube = tubes.get(barcode)
        if has_nul:
            error = "含有空字符(NUL), 请删除该字符后重新上传"
        elif result is None:
            error = f"结果“{raw}”无法识别(应为阴性/阳性)"
        elif tube is None:
            error = f"本轮没有试管 {barcode}"
        elif tube["status"] != TubeStatus.CLOSED:
            error = "试管尚未封管"
        elif barcode in seen and seen[barcode] != result:
            error = "同一试管在文件中结果不一致"
        elif tube["result"] not in (TubeResult.PENDING, result):
            error = f"该试管已有结果({TubeResult(tube['result']).label})"
        state = "error" if error else ("unchanged" if tube and tube["result"] == result else "ok")
        if result:
            seen.setdefault(barcode, result)
        counts["rows"] += 1
        counts["errors" if error else state] += 1
        if not error and result == TubeResult.POSITIVE:
            counts["positive"] += 1
        rows.append({"line": line, "barcode": barcode, "result": result or raw, "state": state, "error": error})
    return {"counts": counts, "rows": rows}


@transaction.atomic
def result_import_preview(*, actor, round_: Round, filename: str, data: bytes) -> ResultImport:
    """Check a lab file against the round's tubes; nothing is applied yet."""
    if len(data) > MAX_BYTES:
        raise ValidationError({"file": ["文件过大(上限10MB)"]})
    parsed = parse_results(data, filename)
    report = _check(round_, parsed)
    job = ResultImport.objects.create(
        round=round_,
        neighbourhood_id=round_.neighbourhood_id,
        created_by=actor,
        filename=filename[:255],
        data=data,
        report=report,
        status=ImportStatus.FAILED if report["counts"]["errors"] else ImportStatus.PREVIEWED,
    )
    audit_record(actor=actor, action="screening.results_preview", obj=job, changes=report["counts"])
    return job


@transaction.atomic
def result_import_commit(*, actor, job: ResultImport) -> dict:
    """Apply every row or none: any error (found now, or raised by a row) rolls the whole file back."""
    job = ResultImport.objects.select_for_update().get(pk=job.pk)
    if job.status == ImportStatus.COMMITTED:
        return job.report["counts"]
    round_ = job.round
    report = _check(round_, parse_results(bytes(job.data), job.filename))
    if report["counts"]["errors"]:
        raise ValidationError({"file": [f"有 {report['counts']['errors']} 行错误, 整个文件未导入"]})
    retests = 0
    try:
        with transaction.atomic():
            for row in report["rows"]:
                if row["state"] == "ok":
                    outcome = services.tube_result_record(
                        actor=actor, round_=round_, barcode=row["barcode"], result=row["result"]
                    )
                    retests += outcome.retests
    except ValidationError as exc:
        raise ValidationError({"file": [f"导入中断, 整个文件未导入: {' '.join(exc.messages)}"]}) from exc
    report["counts"]["retests"] = retests
    job.report = report
    job.status = ImportStatus.COMMITTED
    job.save(update_fields=["report", "status"])
    audit_record(actor=actor, action="screening.results_import", obj=job, changes=report["counts"])
    return report["counts"]
