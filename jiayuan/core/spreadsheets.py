"""Reading uploaded spreadsheets without letting a hostile file take the app down.

An ``.xlsx`` is a zip of XML. A 5 KB file with one cell at ``XFD1048576`` makes the reader
(python-calamine) allocate the whole grid, 512 GiB, and abort the process it runs in. So
every spreadsheet upload (roster import, lab results) is read in two guarded steps:

1. **size check** before anything is loaded: each worksheet's declared range
   (``<dimension ref=…>``) and real extent (the ``r`` of every ``<row>`` and ``<c>``, streamed
   from the zip, never more than a chunk in memory), and the unzipped size of the parts. A
   sheet beyond ``max_rows`` × ``max_columns`` (or ``max_cells``) is refused with a message
   that says where the stray cell is;
2. **reading in a child process** (``python -I`` running this file: no Django, no database)
   with an address-space limit (``RLIMIT_AS``) and a timeout. If the reader still blows up,
   only the child dies; the caller gets ``SpreadsheetError`` with a clear message.

The child sends the cells back pickled; the parent unpickles them with a loader that only
knows the ``datetime`` types a cell can hold. See docs/adr/ for the choice.

This file runs as a script in the child, so it imports nothing from Django or ``jiayuan``.
"""

from __future__ import annotations

import io
import pickle
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Limits",
    "SpreadsheetError",
    "SpreadsheetUnreadable",
    "Table",
    "check_csv_rows",
    "check_xlsx",
    "read_workbook",
]

# Defaults; the app passes its settings (``JIAYUAN_IMPORT_*``).
MAX_ROWS = 200_000
MAX_COLUMNS = 200
MAX_CELLS = 5_000_000
MAX_UNZIPPED_MB = 1024
MEMORY_MB = 2048
TIMEOUT_SECONDS = 300

_CHUNK = 1 << 20

MSG_TOO_LARGE = (
    "表格太大: 工作表“{sheet}”{how}单元格 {ref}({rows} 行、{columns} 列),最多 {max_rows} 行、{max_columns} 列"
    "(共 {max_cells} 个单元格)。请删除多余的行和列, 或把数据复制到新文件后重新上传。"
)
MSG_UNZIPPED = "表格文件解压后超过 {mb} MB, 可能已损坏。请把数据复制到新文件后重新上传。"
MSG_MEMORY = (
    "读取表格时超出内存上限({mb} MB), 已停止, 没有写入任何数据。"
    "文件可能已损坏或含有大量空白单元格, 请把数据复制到新文件后重新上传。"
)
MSG_TIMEOUT = "读取表格超时({seconds} 秒), 已停止, 没有写入任何数据。请把文件拆小后重新上传。"
MSG_DIED = "读取表格的进程意外退出, 没有写入任何数据。请确认文件完好后重新上传。"
MSG_CSV_ROWS = "表格太大: 最多 {max_rows} 行。请把文件拆小后重新上传。"
MSG_CSV_COLUMNS = "表格太大: 第 {row} 行有 {columns} 列, 最多 {max_columns} 列。"


class SpreadsheetError(Exception):
    """The file cannot be read safely; ``str(exc)`` is a message for the user (Chinese)."""


class SpreadsheetUnreadable(SpreadsheetError):
    """The reader does not understand the file (not a spreadsheet, password, corrupt zip)."""


@dataclass(frozen=True)
class Limits:
    max_rows: int = MAX_ROWS
    max_columns: int = MAX_COLUMNS
    max_cells: int = MAX_CELLS
    max_unzipped_mb: int = MAX_UNZIPPED_MB
    memory_mb: int = MEMORY_MB
    timeout: float = TIMEOUT_SECONDS

    @classmethod
    def from_settings(cls) -> Limits:
        from django.conf import settings

        return cls(
            max_rows=getattr(settings, "JIAYUAN_IMPORT_MAX_ROWS", MAX_ROWS),
            max_columns=getattr(settings, "JIAYUAN_IMPORT_MAX_COLUMNS", MAX_COLUMNS),
            max_cells=getattr(settings, "JIAYUAN_IMPORT_MAX_CELLS", MAX_CELLS),
            max_unzipped_mb=getattr(settings, "JIAYUAN_IMPORT_MAX_UNZIPPED_MB", MAX_UNZIPPED_MB),
            memory_mb=getattr(settings, "JIAYUAN_IMPORT_MEMORY_MB", MEMORY_MB),
            timeout=getattr(settings, "JIAYUAN_IMPORT_TIMEOUT", TIMEOUT_SECONDS),
        )


@dataclass
class Table:
    """One worksheet: its rows (lists of cell values) and merged ranges ((top, left), (bottom, right))."""

    name: str
    rows: list[list[Any]]
    merged: list[tuple[tuple[int, int], tuple[int, int]]]


# --- 1. Size check (pure Python, streaming) ----------------------------------------------------

_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c|dimension)\b([^>]*)>")
_ATTR_R = re.compile(rb"""\sr\s*=\s*["']([^"']*)["']""")
_ATTR_REF = re.compile(rb"""\sref\s*=\s*["']([^"']*)["']""")
_REF = re.compile(r"\$?([A-Za-z]*)\$?(\d*)")
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*)>")
_SHEET = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)>")


def _attr(name: bytes, attrs: bytes) -> str | None:
    found = re.search(rb"\s" + name + rb"""\s*=\s*["']([^"']*)["']""", b" " + attrs)
    return found.group(1).decode("utf-8", "replace") if found else None


def _column_number(letters: str) -> int:
    number = 0
    for ch in letters.upper():
        number = number * 26 + (ord(ch) - 64)
    return number


def column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters or "A"


def _split_ref(ref: str) -> tuple[int, int]:
    """(row, column) of "XFD1048576"; 0 for a part that is missing."""
    found = _REF.fullmatch(ref.strip())
    if not found:
        return 0, 0
    letters, digits = found.groups()
    return (int(digits) if digits else 0), (_column_number(letters) if letters else 0)


def _worksheet_parts(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(part name, sheet name) of every worksheet the workbook points at, plus any stray one."""
    names = set(archive.namelist())
    targets: dict[str, str] = {}  # relationship id → part
    try:
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        rels = b""
    for attrs in _RELATIONSHIP.findall(rels):
        kind, target, rid = _attr(b"Type", attrs) or "", _attr(b"Target", attrs) or "", _attr(b"Id", attrs) or ""
        if kind.endswith("/worksheet") and target:
            part = target.lstrip("/") if target.startswith("/") else "xl/" + target
            parts: list[str] = []
            for piece in part.split("/"):
                if piece == "..":
                    if parts:
                        parts.pop()
                elif piece not in ("", "."):
                    parts.append(piece)
            targets[rid] = "/".join(parts)
    labels: dict[str, str] = {}
    try:
        workbook = archive.read("xl/workbook.xml")
    except KeyError:
        workbook = b""
    for attrs in _SHEET.findall(workbook):
        rid = _attr(b"r:id", attrs) or next((v for k, v in _ids(attrs)), "")
        if rid in targets:
            labels[targets[rid]] = _attr(b"name", attrs) or targets[rid]
    found = [(part, labels.get(part, part.rsplit("/", 1)[-1])) for part in targets.values() if part in names]
    strays = sorted(n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml") and "/_rels/" not in n)
    seen = {part for part, _label in found}
    found += [(n, n.rsplit("/", 1)[-1]) for n in strays if n not in seen]
    return found


def _ids(attrs: bytes):
    for match in re.finditer(rb"""\s([\w]+:id)\s*=\s*["']([^"']*)["']""", b" " + attrs):
        yield match.group(1).decode(), match.group(2).decode()


def _too_large(limits: Limits, sheet: str, rows: int, columns: int, how: str) -> SpreadsheetError | None:
    if rows <= limits.max_rows and columns <= limits.max_columns and rows * columns <= limits.max_cells:
        return None
    return SpreadsheetError(
        MSG_TOO_LARGE.format(
            sheet=sheet,
            how=how,
            ref=f"{column_letters(columns)}{rows}",
            rows=f"{rows:,}",
            columns=f"{columns:,}",
            max_rows=f"{limits.max_rows:,}",
            max_columns=f"{limits.max_columns:,}",
            max_cells=f"{limits.max_cells:,}",
        )
    )


def _chunks(stream, limits: Limits, budget: list[int]):
    """The part's XML in chunks that end before a ``<`` (so no tag is cut in two)."""
    carry = b""
    while True:
        chunk = stream.read(_CHUNK)
        budget[0] -= len(chunk)
        if budget[0] < 0:
            raise SpreadsheetError(MSG_UNZIPPED.format(mb=limits.max_unzipped_mb))
        if not chunk:
            if carry:
                yield carry
            return
        buffer = carry + chunk
        cut = buffer.rfind(b"<")
        if cut <= 0:
            yield buffer
            carry = b""
        else:
            yield buffer[:cut]
            carry = buffer[cut:]


# One pass finds every <row> and <c> with its reference, if any (letters empty for a row).
# Elements may carry a namespace prefix (<x:c>); the regex without it is twice as fast, and is
# used for the chunks where no prefixed name can be.
_REFS_PREFIXED = re.compile(
    rb"""<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])(?:[^>]*?\sr\s*=\s*["']\$?([A-Za-z]{0,8})\$?(\d{0,12})["'])?"""
)
_REFS = re.compile(rb"""<(row|c)(?=[\s/>])(?:[^>]*?\sr\s*=\s*["']\$?([A-Za-z]{0,8})\$?(\d{0,12})["'])?""")
_DIMENSION = re.compile(rb"""<(?:[A-Za-z_][\w.-]*:)?dimension\s[^>]*?\bref\s*=\s*["']([^"']*)["']""")


def _scan_fast(stream, limits: Limits, sheet: str, budget: list[int]) -> bool:
    """Check the declared range and every explicit reference; True when some row or cell has none.

    One regular expression over each chunk (C speed), not a parse.
    """
    max_row = max_column = 0
    implicit = False
    for number, segment in enumerate(_chunks(stream, limits, budget)):
        if number == 0:  # <dimension> comes before the data
            for ref in _DIMENSION.findall(segment):
                d_row, d_column = _split_ref(ref.decode("ascii", "replace").split(":")[-1])
                error = _too_large(limits, sheet, d_row, d_column, "声明的范围一直到")
                if error:
                    raise error
        prefixed = b":c" in segment or b":row" in segment
        found = (_REFS_PREFIXED if prefixed else _REFS).findall(segment)
        letters = {letter for tag, letter, _digits in found if tag == b"c"}
        digits = {d for _tag, _letter, d in found}
        if b"" in letters or b"" in digits:
            implicit = True
        letters.discard(b"")
        digits.discard(b"")
        if digits:
            max_row = max(max_row, max(map(int, digits)))
        if letters:
            widest = max((len(t), t.upper()) for t in letters)[1]
            max_column = max(max_column, _column_number(widest.decode("ascii")))
        error = _too_large(limits, sheet, max_row, max_column, "的数据一直用到")
        if error:
            raise error
    return implicit


def _scan_precise(stream, limits: Limits, sheet: str, budget: list[int]) -> None:
    """Every ``<row>`` and ``<c>`` in order, counting the positions of those without ``r``.

    About 8 µs a cell: only for sheets that leave references out (``_scan_fast`` says so).
    """
    row = max_row = max_column = 0
    column = 0
    carry = b""
    while True:
        chunk = stream.read(_CHUNK)
        budget[0] -= len(chunk)
        if budget[0] < 0:
            raise SpreadsheetError(MSG_UNZIPPED.format(mb=limits.max_unzipped_mb))
        buffer = carry + chunk
        if chunk:
            cut = buffer.rfind(b"<")
            if cut < 0:
                carry, cut = b"", len(buffer)
            else:
                carry = buffer[cut:]
                if len(carry) > _CHUNK:  # an open tag longer than a chunk: not a cell, drop it
                    carry = b""
        else:
            cut, carry = len(buffer), b""
        for match in _TAG.finditer(buffer, 0, cut):
            tag, attrs = match.group(1), match.group(2)
            if tag == b"c":
                ref = _ATTR_R.search(attrs)
                r_row, r_column = _split_ref(ref.group(1).decode("ascii", "replace")) if ref else (0, 0)
                column = r_column or column + 1
                if r_row:
                    row = r_row
                max_column = max(max_column, column)
                max_row = max(max_row, row)
            elif tag == b"row":
                ref = _ATTR_R.search(attrs)
                number = int(ref.group(1)) if ref and ref.group(1).isdigit() else row + 1
                row, column = number, 0
                max_row = max(max_row, row)
            else:  # <dimension ref="A1:XFD1048576"/>: what the sheet says it uses
                ref = _ATTR_REF.search(attrs)
                if ref:
                    last = ref.group(1).decode("ascii", "replace").split(":")[-1]
                    d_row, d_column = _split_ref(last)
                    error = _too_large(limits, sheet, d_row, d_column, "声明的范围一直到")
                    if error:
                        raise error
        error = _too_large(limits, sheet, max_row, max_column, "的数据一直用到")
        if error:
            raise error
        if not chunk:
            return


def check_xlsx(data: bytes, limits: Limits | None = None) -> None:
    """Refuse (``SpreadsheetError``) an xlsx whose sheets are too large, before any reader loads it.

    A file that is not a zip is left to the reader (which says it cannot read it).
    """
    limits = limits or Limits()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        return
    with archive:
        declared = sum(info.file_size for info in archive.infolist())
        if declared > limits.max_unzipped_mb * 1024 * 1024:
            raise SpreadsheetError(MSG_UNZIPPED.format(mb=limits.max_unzipped_mb))
        budget = [limits.max_unzipped_mb * 1024 * 1024]
        for part, sheet in _worksheet_parts(archive):
            try:
                with archive.open(part) as stream:
                    implicit = _scan_fast(stream, limits, sheet, budget)
                if implicit:  # positions to count: a second, exact pass
                    with archive.open(part) as stream:
                        _scan_precise(stream, limits, sheet, [limits.max_unzipped_mb * 1024 * 1024])
            except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError) as exc:
                raise SpreadsheetUnreadable(str(exc)) from exc


def check_csv_rows(rows, limits: Limits | None = None) -> list[list[str]]:
    """The rows of a ``csv.reader``, refused once over the row or column limit (read lazily)."""
    limits = limits or Limits()
    out = []
    for number, row in enumerate(rows, start=1):
        if number > limits.max_rows:
            raise SpreadsheetError(MSG_CSV_ROWS.format(max_rows=f"{limits.max_rows:,}"))
        if len(row) > limits.max_columns:
            raise SpreadsheetError(
                MSG_CSV_COLUMNS.format(row=number, columns=f"{len(row):,}", max_columns=f"{limits.max_columns:,}")
            )
        out.append(row)
    return out


# --- 2. Reading in a child process -------------------------------------------------------------


class _CellUnpickler(pickle.Unpickler):
    """Lists, strings, numbers, None, bools and the datetime types; nothing else is loaded."""

    _ALLOWED = {("datetime", "datetime"), ("datetime", "date"), ("datetime", "time"), ("datetime", "timedelta")}

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not a cell value")


def _child_command() -> list[str]:
    """The child: this file run by the same interpreter, isolated (no PYTHON* variables, no cwd)."""
    return [sys.executable, "-I", __file__]


def read_workbook(
    data: bytes, *, first_only: bool = False, skip_empty_area: bool = False, limits: Limits | None = None
) -> list[Table]:
    """Every worksheet of an xlsx (or xls/ods) file, size-checked and read in a child process.

    Raises ``SpreadsheetUnreadable`` when the reader cannot read the file and
    ``SpreadsheetError`` (with the user's message) when it is too large, the child runs out of
    memory or time, or dies.
    """
    limits = limits or Limits.from_settings()
    options = repr((first_only, skip_empty_area, limits.__dict__))
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and file, no shell
            [*_child_command(), options],
            input=data,
            capture_output=True,
            timeout=limits.timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise SpreadsheetError(MSG_TIMEOUT.format(seconds=int(limits.timeout))) from exc
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace")
        if "memory allocation" in stderr or "MemoryError" in stderr or done.returncode == -6:
            raise SpreadsheetError(MSG_MEMORY.format(mb=limits.memory_mb))
        raise SpreadsheetError(MSG_DIED)
    try:
        kind, payload = _CellUnpickler(io.BytesIO(done.stdout)).load()
    except Exception as exc:  # a child that printed something else: treat as a crash
        raise SpreadsheetError(MSG_DIED) from exc
    if kind == "ok":
        return [Table(name, rows, merged) for name, rows, merged in payload]
    if kind == "too_large":
        raise SpreadsheetError(payload)
    raise SpreadsheetUnreadable(payload)


def _child_main() -> None:
    import ast
    import resource

    first_only, skip_empty_area, settings = ast.literal_eval(sys.argv[1])
    limits = Limits(**settings)
    data = sys.stdin.buffer.read()
    memory = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    out = sys.stdout.buffer
    try:
        check_xlsx(data, limits)
    except SpreadsheetUnreadable as exc:
        pickle.dump(("unreadable", str(exc)), out)
        return
    except SpreadsheetError as exc:
        pickle.dump(("too_large", str(exc)), out)
        return
    from python_calamine import CalamineError, CalamineWorkbook

    tables = []
    try:
        workbook = CalamineWorkbook.from_object(io.BytesIO(data))
        for index, name in enumerate(workbook.sheet_names):
            sheet = workbook.get_sheet_by_index(index)
            rows = sheet.to_python(skip_empty_area=skip_empty_area)
            merged = [((a, b), (c, d)) for (a, b), (c, d) in (sheet.merged_cell_ranges or ())]
            tables.append((name, rows, merged))
            if first_only:
                break
    except (CalamineError, ValueError, IndexError, TypeError, UnicodeError) as exc:
        pickle.dump(("unreadable", str(exc)), out)
        return
    pickle.dump(("ok", tables), out, protocol=pickle.HIGHEST_PROTOCOL)


if __name__ == "__main__":
    _child_main()
