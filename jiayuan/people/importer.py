"""Roster import: reading the committee's spreadsheet of residents, checking it, writing it.

On the first day of a lockdown the committee loads the roster it already keeps in Excel, often
100,000 rows for a street. The work runs in four steps:

1. read the file (``.xlsx`` through python-calamine, ``.csv`` in UTF-8 or GBK) and find the
   header row under any title rows;
2. parse every row with ``people.normalize`` and ``people.services.resident_apply_identity``
   (no database), so a value accepted here is accepted by the form and the API too;
3. resolve compounds, buildings and households and match existing residents against maps
   preloaded in a few queries;
4. on a commit, write everything in bulk inside one transaction, or nothing at all when any
   row has an error.

Re-importing the same file updates, never duplicates: a resident is matched by ID number
(keyed hash) within the neighbourhood or, failing that, by household and name. An empty cell
never erases what is on record, except the tag column: when the file has one, it holds each
resident's full set of tags.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection, models, transaction
from django.utils import timezone

from jiayuan.core import spreadsheets
from jiayuan.core.audit import audit_record
from jiayuan.core.exports import FORMULA_PREFIXES
from jiayuan.core.fields import EncryptedTextField
from jiayuan.people import normalize
from jiayuan.people.choices import Gender, IdType
from jiayuan.people.models import Resident, ResidentTag
from jiayuan.people.services import resident_apply_identity
from jiayuan.places.models import Building, Compound, Household, Neighbourhood
from jiayuan.places.services import building_name

__all__ = ["COLUMNS", "ImportFileError", "ImportReport", "RowError", "roster_import"]

Progress = Callable[[int, int], None]

# Header texts seen in committees' own rosters, by the field they fill. Matched after
# full-width folding, with spaces, a leading "*" and a trailing note such as "(必填)" removed.
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字"),
    "id_number": ("身份证号", "身份证号码", "证件号码", "证件号"),
    "id_type": ("证件类型",),
    "phone": ("手机", "手机号", "手机号码", "联系电话", "电话"),
    "compound": ("小区", "小区名称"),
    "building": ("楼号", "楼栋", "幢", "号楼", "楼栋号"),
    "unit": ("单元", "单元号"),
    "room": ("室号", "房号", "门牌号", "房间号"),
    "gender": ("性别",),
    "birth_date": ("出生日期", "出生年月"),
    "relation": ("与户主关系", "关系"),
    "residency": ("人员类型", "居住类型"),
    "presence": ("在住状态", "居住状态"),
    "tags": ("标签", "人员标签", "特殊人群"),
    "notes": ("备注",),
}
_HEADER_KEYS = {synonym: key for key, synonyms in COLUMNS.items() for synonym in synonyms}
_HEADER_NOTE = re.compile(r"[(\[【][^)\]】]*[)\]】]$")
_HEADER_SEARCH_ROWS = 15
_REQUIRED = ("building", "room")

# Excel shows a long number as 3.10113E+17 and a CSV saved from it keeps that text.
_SCIENTIFIC = re.compile(r"\d+(?:\.\d+)?E\+?\d+")

PROGRESS_EVERY = 1000  # rows checked between two progress reports
# Residents written per INSERT batch / COPY: progress is reported between batches. Larger
# batches keep the PostgreSQL server busy while Python prepares rows; each batch ends in a wait.
BATCH_SIZE = 10_000

MSG_EXTENSION = "只支持 .xlsx 和 .csv 文件"
MSG_UNREADABLE_XLSX = "无法读取该 Excel 文件,请确认它是 .xlsx 格式且没有设置密码"
MSG_ENCODING = "无法识别 CSV 文件的编码,请另存为 UTF-8 或 GBK 编码"
MSG_NO_HEADER = "前15行中没有找到表头:表头行应包含“姓名”以及楼号、室号、身份证号等列名"
MSG_MISSING_COLUMNS = "缺少必需的列:{columns}"
MSG_ID_AS_NUMBER = "身份证号被Excel存成了数字,请把该列设为文本"
MSG_MASKED = "{what}已脱敏(含*号),请使用不脱敏导出的文件或填写完整号码"
MSG_DUPLICATE_ID = "与第{row}行{what}重复"
MSG_ID_ELSEWHERE = "该{what}已登记在 {place}"
MSG_DUPLICATE_NAME = "与第{row}行重复:同一户中同名且都没有证件号码"
MSG_SAME_RESIDENT = "与第{row}行是同一位居民"
MSG_COMPOUND_AMBIGUOUS = "本居民区有多个小区,请填写小区列"
MSG_TOO_LONG = "{header}过长(最多{n}个字符)"
MSG_NUL = "{header}含有空字符(NUL), 数据库无法保存, 请删除该字符"
MSG_FLOOR = "室号中的楼层数不合理(最多{n}层)"

# Household.floor is a SmallIntegerField: PostgreSQL refuses more (SQLite would not).
_MAX_FLOOR = 32767


class ImportFileError(Exception):
    """The file as a whole cannot be imported (format, encoding, no header); message in Chinese."""


@dataclass
class RowError:
    """One problem in one row: ``row`` as the spreadsheet numbers it, ``column`` as its header reads."""

    row: int
    column: str
    message: str


def _no_counts() -> dict[str, int]:
    return {"compounds": 0, "buildings": 0, "households": 0, "residents": 0}


@dataclass
class ImportReport:
    """What an import found (preview) or did (commit); ``as_dict`` is the CLI's ``--json``."""

    rows: int = 0
    valid: int = 0
    errors: list[RowError] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=_no_counts)
    updated: int = 0
    committed: bool = False
    new_buildings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


# --- Reading the file ------------------------------------------------------------------------


@dataclass
class _Sheet:
    columns: dict[str, int]  # field key → cell index
    headers: dict[str, str]  # field key → header text as the file has it
    rows: list[tuple[int, list]]  # (row number in the spreadsheet, cells); blank rows dropped


def _header_key(cell: Any) -> str | None:
    text = normalize.clean_text(cell).replace(" ", "").lstrip("*")
    return _HEADER_KEYS.get(_HEADER_NOTE.sub("", text))


def _csv_tables(data: bytes) -> Iterator[list[list]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")  # what Excel in China saves a CSV as
        except UnicodeDecodeError as exc:
            raise ImportFileError(MSG_ENCODING) from exc
    try:
        yield spreadsheets.check_csv_rows(
            csv.reader(io.StringIO(text, newline="")), spreadsheets.Limits.from_settings()
        )
    except spreadsheets.SpreadsheetError as exc:
        raise ImportFileError(str(exc)) from exc


def _xlsx_tables(data: bytes) -> Iterator[list[list]]:
    """Each sheet in order; merged cells (a room merged over a household's rows) filled in.

    The file is size-checked and read in a child process (``core.spreadsheets``): a hostile
    file is refused or kills only the child, never the process running the import.
    """
    try:
        tables = spreadsheets.read_workbook(data)
    except spreadsheets.SpreadsheetUnreadable as exc:
        raise ImportFileError(MSG_UNREADABLE_XLSX) from exc
    except spreadsheets.SpreadsheetError as exc:
        raise ImportFileError(str(exc)) from exc
    for table in tables:
        # Empty rows above the data are kept so list index + 1 is the row number Excel shows.
        rows = table.rows
        for (top, left), (bottom, right) in table.merged:
            if top >= len(rows) or left >= len(rows[top]):
                continue
            value = rows[top][left]
            for r in range(top, min(bottom, len(rows) - 1) + 1):
                row = rows[r]
                for c in range(left, min(right, len(row) - 1) + 1):
                    row[c] = value
        yield rows


def _find_header(rows: list[list]) -> tuple[int, dict[str, int], dict[str, str]] | None:
    for index, row in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        columns: dict[str, int] = {}
        headers: dict[str, str] = {}
        for position, cell in enumerate(row):
            key = _header_key(cell)
            if key is not None and key not in columns:  # the first of two synonyms wins
                columns[key] = position
                headers[key] = str(cell).strip()
        if "name" in columns and len(columns) >= 2:
            return index, columns, headers
    return None


def _is_blank(cells: list) -> bool:
    return not any(str(c).strip() for c in cells if c is not None)


def _read_sheet(data: bytes, filename: str) -> _Sheet:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension == "csv":
        tables = _csv_tables(data)
    elif extension == "xlsx":
        tables = _xlsx_tables(data)
    else:
        raise ImportFileError(MSG_EXTENSION)
    for rows in tables:
        found = _find_header(rows)
        if found is None:
            continue
        header_index, columns, headers = found
        missing = [COLUMNS[key][0] for key in _REQUIRED if key not in columns]
        if missing:
            raise ImportFileError(MSG_MISSING_COLUMNS.format(columns="、".join(missing)))
        body = [
            (number, cells)
            for number, cells in enumerate(rows[header_index + 1 :], start=header_index + 2)
            if not _is_blank(cells)
        ]
        return _Sheet(columns=columns, headers=headers, rows=body)
    raise ImportFileError(MSG_NO_HEADER)


# --- Parsing rows (no database) --------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    line: int
    compound: str  # "" when the file does not say: resolved against the neighbourhood's places
    building: str
    unit: str
    room: str
    name: str
    values: dict[str, Any]  # Resident fields this row gives (non-empty cells only)
    tags: list[str] | None  # None when the file has no tag column
    ok: bool


def _stored_as_number(raw: Any, text: str) -> bool:
    """An ID that Excel turned into a number has lost its last digits: it cannot be repaired."""
    if isinstance(raw, float | int) and not isinstance(raw, bool):
        return abs(raw) >= 1e15
    return bool(_SCIENTIFIC.fullmatch(text.upper()))


def _unless_blank(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``parse``, but None for an empty cell: it keeps what is on record (or the model default)."""

    def run(raw: Any) -> Any:
        return parse(raw) if normalize.clean_text(raw) else None

    return run


_MAX_LENGTHS = {
    "compound": Compound._meta.get_field("name").max_length,
    "building": Building._meta.get_field("number").max_length,
    "unit": Household._meta.get_field("unit").max_length,
    "room": Household._meta.get_field("room").max_length,
}


def _parse_room(raw: Any) -> str:
    room = normalize.parse_room(raw)
    floor = normalize.floor_of_room(room)
    if floor is not None and floor > _MAX_FLOOR:
        raise ValidationError(MSG_FLOOR.format(n=_MAX_FLOOR))
    return room


# Columns whose few distinct values fill the whole file ("户主", "在住", "3号楼"): each distinct
# value is parsed once per import. A choice lookup costs tens of µs (translated labels), which
# at 100,000 rows would be much of the time. Names, ID numbers and phones hardly repeat.
_MEMOISED: dict[str, Callable[[Any], Any]] = {
    "compound": normalize.clean_text,
    "building": normalize.parse_building_number,
    "unit": normalize.parse_unit,
    "room": _parse_room,
    "gender": normalize.parse_gender,
    "birth_date": normalize.parse_date,
    "relation": _unless_blank(normalize.parse_relation),
    "residency": _unless_blank(normalize.parse_residency),
    "presence": _unless_blank(normalize.parse_presence),
    "tags": normalize.parse_tags,
    "id_type": normalize.parse_id_type,
}
# What a column the file does not have amounts to (None: nothing to set).
_ABSENT: dict[str, Any] = dict.fromkeys(_MEMOISED) | {"compound": "", "unit": "", "id_type": IdType.MAINLAND}
_CHOICE_FIELDS = (("relation", "relation_to_head"), ("residency", "residency"), ("presence", "presence"))

_FORMULA_FIRST = frozenset(prefix[0] for prefix in FORMULA_PREFIXES)

Outcome = tuple[Any, list[str]]  # (value, error messages)


class _Parser:
    """Turns cells into ``_Row``s and collects the row-local errors.

    This loop runs once per row of a 100,000-row file, so it is written for speed: column
    positions are resolved once, and repeating columns go through a memo.
    """

    def __init__(self, sheet: _Sheet) -> None:
        columns = sheet.columns
        self.headers = sheet.headers
        self.errors: list[RowError] = []
        self.first_row_of_id: dict[str, int] = {}
        self.width = max(columns.values()) + 1
        self.name_at = columns["name"]
        self.id_at = columns.get("id_number")
        self.phone_at = columns.get("phone")
        self.notes_at = columns.get("notes")
        self.header_at = {columns[key]: self.headers[key] for key in columns}
        self.memoised = [(key, columns[key], parse, {}) for key, parse in _MEMOISED.items() if key in columns]
        self.absent = {key: value for key, value in _ABSENT.items() if key not in columns}
        # resident_apply_identity works on a Resident; one scratch instance serves every row.
        self.scratch = Resident()

    def outcome(self, key: str, parse: Callable[[Any], Any], raw: Any) -> Outcome:
        try:
            value = parse(raw)
        except ValidationError as exc:
            return None, exc.messages
        limit = _MAX_LENGTHS.get(key)
        if limit and value and len(value) > limit:
            return None, [MSG_TOO_LONG.format(header=self.headers[key], n=limit)]
        return value, []

    def parse(self, line: int, cells: list) -> _Row:
        if len(cells) < self.width:
            cells = [*cells, *[""] * (self.width - len(cells))]
        errors: list[RowError] = []
        for index, header in self.header_at.items():  # the row is this import's own: edited in place
            raw = cells[index]
            if raw.__class__ is str and raw and (raw[0] == "'" or "\x00" in raw):
                if "\x00" in raw:
                    # PostgreSQL refuses NUL in text: say so here, so the preview finds what the commit would refuse.
                    errors.append(RowError(line, header, MSG_NUL.format(header=header)))
                    cells[index] = raw.replace("\x00", "")
                elif raw[1:2] and raw[1] in _FORMULA_FIRST:
                    cells[index] = raw[1:]  # our exports write '=… so a text is not a formula: read it back as =…
        got = dict(self.absent)
        for key, index, parse, memo in self.memoised:
            raw = cells[index]
            memo_key = (raw.__class__, raw)  # the class too: True == 1, but not as text
            outcome = memo.get(memo_key)
            if outcome is None:
                outcome = memo[memo_key] = self.outcome(key, parse, raw)
            value, messages = outcome
            if messages:
                errors.extend(RowError(line, self.headers[key], m) for m in messages)
            # The memo hands one value to every row with the same cell (tags: one list); rows only read it.
            got[key] = value
        try:
            name = normalize.parse_name(cells[self.name_at])
        except ValidationError as exc:
            name = ""
            errors.extend(RowError(line, self.headers["name"], m) for m in exc.messages)
        values: dict[str, Any] = {"name": name}
        for key, field_name in _CHOICE_FIELDS:
            if got[key] is not None:
                values[field_name] = got[key]
        notes = normalize.clean_text(cells[self.notes_at]) if self.notes_at is not None else ""
        if notes:
            values["notes"] = notes
        self._identity(line, cells, got, values, errors)
        self.errors.extend(errors)
        return _Row(
            line,
            got["compound"] or "",
            got["building"] or "",
            got["unit"] or "",
            got["room"] or "",
            name,
            values,
            got["tags"],
            ok=not errors,
        )

    def _identity(self, line: int, cells: list, got: dict[str, Any], values: dict, errors: list[RowError]) -> None:
        """ID number, phone, gender and birth date, which must agree with each other."""
        raw_id = cells[self.id_at] if self.id_at is not None else ""
        id_text = normalize.clean_text(raw_id)
        if id_text and _stored_as_number(raw_id, id_text):
            errors.append(RowError(line, self.headers["id_number"], MSG_ID_AS_NUMBER))
            id_text = ""
        phone_text = normalize.clean_text(cells[self.phone_at]) if self.phone_at is not None else ""
        # A masked export edited and uploaded again: say so rather than "only digits allowed".
        if "*" in id_text:
            errors.append(RowError(line, self.headers["id_number"], MSG_MASKED.format(what="证件号码")))
            id_text = ""
        if "*" in phone_text:
            errors.append(RowError(line, self.headers["phone"], MSG_MASKED.format(what="电话号码")))
            phone_text = ""
        scratch = self.scratch
        scratch.gender = got["gender"] or Gender.UNKNOWN
        scratch.birth_date = got["birth_date"]
        try:
            resident_apply_identity(scratch, id_type=got["id_type"], id_number=id_text, phone=phone_text)
        except ValidationError as exc:
            # Field names here (id_number, phone, gender, birth_date) are also our column keys; a
            # contradiction with the ID shows on the gender / birth-date column when there is one.
            for field_name, messages in exc.message_dict.items():
                header = self.headers.get(field_name) or self.headers.get("id_number", "")
                errors.extend(RowError(line, header, m) for m in messages)
            return
        if scratch.gender != Gender.UNKNOWN:
            values["gender"] = scratch.gender
        if scratch.birth_date is not None:
            values["birth_date"] = scratch.birth_date
        if id_text:
            values["id_type"] = scratch.id_type
            values["id_number"] = scratch.id_number
            values["id_number_hash"] = scratch.id_number_hash
            first = self.first_row_of_id.setdefault(scratch.id_number_hash, line)
            if first != line:
                message = MSG_DUPLICATE_ID.format(row=first, what=_id_word(scratch.id_type))
                errors.append(RowError(line, self.headers["id_number"], message))
        if phone_text:
            values["phone"] = scratch.phone
            values["phone_hash"] = scratch.phone_hash
            values["phone_last4"] = scratch.phone_last4


def _id_word(id_type: str) -> str:
    return "身份证号" if id_type == IdType.MAINLAND else "证件号码"


# --- Places and matching against the database --------------------------------------------------

PlaceKey = tuple[str, str, str, str]  # compound name, building number, unit, room

# Fields compared to decide whether a matched resident needs an UPDATE at all.
_COMPARED = (
    "household_id",
    "name",
    "gender",
    "birth_date",
    "id_type",
    "id_number_hash",
    "phone_hash",
    "relation_to_head",
    "residency",
    "presence",
    "notes",
)
_AT = {name: index for index, name in enumerate(_COMPARED)}
_ID_FIELDS = ("id_type", "id_number", "id_number_hash")
_PHONE_FIELDS = ("phone", "phone_hash", "phone_last4")


class _Plan:
    """The neighbourhood's places and residents, and what the file would create or change."""

    def __init__(self, neighbourhood: Neighbourhood, sheet: _Sheet) -> None:
        self.neighbourhood = neighbourhood
        self.sheet = sheet
        self.errors: list[RowError] = []
        self._load_compounds()
        self._load_buildings()
        self._load_households()
        self._load_residents()
        # Ordered sets (dicts) of what is to be created.
        self.new_compounds: dict[str, None] = {}
        self.new_buildings: dict[tuple[str, str], None] = {}
        self.new_households: dict[PlaceKey, None] = {}
        self.creates: list[tuple[PlaceKey, _Row]] = []
        self.updates: list[tuple[int, PlaceKey, _Row]] = []
        self.matched_by: dict[int, int] = {}  # resident id → first row matching it
        self.first_row_without_id: dict[tuple[PlaceKey, str], int] = {}

    # Loading: one query each, whatever the size of the neighbourhood.

    def _load_compounds(self) -> None:
        rows = Compound.objects.filter(neighbourhood=self.neighbourhood).values_list("id", "name")
        self.compounds = {name: pk for pk, name in rows}
        self.compound_names = {pk: name for name, pk in self.compounds.items()}

    def _load_buildings(self) -> None:
        rows = Building.objects.filter(neighbourhood=self.neighbourhood).values_list(
            "id", "compound_id", "number", "name"
        )
        self.buildings: dict[tuple[str, str], int] = {}
        self.building_places: dict[int, tuple[str, str, str]] = {}  # id → compound, number, name
        self.compounds_of_number: dict[str, set[str]] = {}
        for pk, compound_id, number, name in rows:
            compound = self.compound_names[compound_id]
            self.buildings[compound, number] = pk
            self.building_places[pk] = (compound, number, name)
            self.compounds_of_number.setdefault(number, set()).add(compound)

    def _load_households(self) -> None:
        rows = Household.objects.filter(neighbourhood=self.neighbourhood).values_list(
            "id", "building_id", "unit", "room"
        )
        self.households: dict[PlaceKey, int] = {}
        self.household_places: dict[int, tuple[int, str, str]] = {}
        for pk, building_id, unit, room in rows:
            compound, number, _name = self.building_places[building_id]
            self.households[compound, number, unit, room] = pk
            self.household_places[pk] = (building_id, unit, room)

    def _load_residents(self) -> None:
        rows = Resident.objects.filter(neighbourhood=self.neighbourhood).order_by("id").values_list("id", *_COMPARED)
        self.current: dict[int, tuple] = {}
        self.by_hash: dict[str, int] = {}
        self.by_name: dict[tuple[int, str], int] = {}
        at_household, at_name, at_hash = _AT["household_id"], _AT["name"], _AT["id_number_hash"]
        for pk, *compared in rows:
            self.current[pk] = tuple(compared)
            if compared[at_hash]:
                self.by_hash[compared[at_hash]] = pk
            if compared[at_household] is not None:
                self.by_name.setdefault((compared[at_household], compared[at_name]), pk)
        self.tags: dict[int, set[str]] = {}
        if "tags" in self.sheet.columns:
            for resident_id, tag in ResidentTag.objects.filter(resident__neighbourhood=self.neighbourhood).values_list(
                "resident_id", "tag"
            ):
                self.tags.setdefault(resident_id, set()).add(tag)

    def _current(self, resident_id: int, field_name: str) -> Any:
        return self.current[resident_id][_AT[field_name]]

    def household_label(self, household_id: int) -> str:
        building_id, unit, room = self.household_places[household_id]
        compound, _number, name = self.building_places[building_id]
        return f"{compound} {name} {unit}单元{room}室" if unit else f"{compound} {name} {room}室"

    # Resolving rows.

    def resolve(self, rows: list[_Row]) -> None:
        """Place and match every row; only rows without any error are planned for writing."""
        named = {row.compound for row in rows if row.compound}
        all_compounds = set(self.compounds) | named
        for row in rows:
            if row.compound:
                self.compounds_of_number.setdefault(row.building, set()).add(row.compound)
        for row in rows:
            if row.building and row.room:
                self._resolve_row(row, all_compounds)

    def _guess_compound(self, number: str, all_compounds: set[str]) -> str | None:
        candidates = self.compounds_of_number.get(number, set())
        if len(candidates) == 1:
            return next(iter(candidates))
        if len(all_compounds) == 1:
            return next(iter(all_compounds))
        if not all_compounds:
            return self.neighbourhood.name
        return None

    def _error(self, row: _Row, key: str, message: str) -> None:
        self.errors.append(RowError(row.line, self.sheet.headers.get(key, ""), message))
        row.ok = False

    def _resolve_row(self, row: _Row, all_compounds: set[str]) -> None:
        compound = row.compound or self._guess_compound(row.building, all_compounds)
        if compound is None:
            self._error(row, "compound", MSG_COMPOUND_AMBIGUOUS)
            return
        place: PlaceKey = (compound, row.building, row.unit, row.room)
        household_id = self.households.get(place)
        id_hash = row.values.get("id_number_hash", "")
        resident_id = self.by_hash.get(id_hash) if id_hash else None
        if resident_id is not None:
            registered_in = self._current(resident_id, "household_id")
            if registered_in is not None and registered_in != household_id:
                what = _id_word(row.values["id_type"])
                self._error(
                    row,
                    "id_number",
                    MSG_ID_ELSEWHERE.format(what=what, place=self.household_label(registered_in)),
                )
                return
        elif household_id is not None:
            resident_id = self.by_name.get((household_id, row.name))
            # Same name, different ID number: another person, not the one on record.
            if resident_id is not None and id_hash and self._current(resident_id, "id_number_hash"):
                resident_id = None
        if resident_id is not None:
            first = self.matched_by.setdefault(resident_id, row.line)
            if first != row.line:
                self._error(row, "name", MSG_SAME_RESIDENT.format(row=first))
        elif not id_hash:
            first = self.first_row_without_id.setdefault((place, row.name), row.line)
            if first != row.line:
                self._error(row, "name", MSG_DUPLICATE_NAME.format(row=first))
        if not row.ok:
            return
        if compound not in self.compounds:
            self.new_compounds[compound] = None
        if (compound, row.building) not in self.buildings:
            self.new_buildings[compound, row.building] = None
        if household_id is None:
            self.new_households[place] = None
        if resident_id is None:
            self.creates.append((place, row))
        else:
            self.updates.append((resident_id, place, row))

    def fill(self, report: ImportReport) -> None:
        report.created = {
            "compounds": len(self.new_compounds),
            "buildings": len(self.new_buildings),
            "households": len(self.new_households),
            "residents": len(self.creates),
        }
        report.updated = len(self.updates)
        ordered = sorted(self.new_buildings, key=lambda cb: (cb[0], normalize.natural_key(cb[1]), cb[1]))
        report.new_buildings = [f"{compound} {building_name(number)}" for compound, number in ordered]

    # Writing (inside the caller's transaction).

    def write(self, step: Callable[[int], None]) -> None:
        """Create places, then residents and their tags, then update matched residents.

        ``step(n)`` is told each time ``n`` more residents have been written.
        """
        neighbourhood_id = self.neighbourhood.pk
        # Ids of new places are read back by natural key: one query per level.
        _insert(Compound, [{"neighbourhood_id": neighbourhood_id, "name": name} for name in self.new_compounds])
        self._load_compounds()
        _insert(
            Building,
            [
                {
                    "neighbourhood_id": neighbourhood_id,
                    "compound_id": self.compounds[compound],
                    "number": number,
                    "name": building_name(number),
                    "sort_key": normalize.natural_key(number),
                }
                for compound, number in self.new_buildings
            ],
        )
        self._load_buildings()
        _insert(
            Household,
            [
                {
                    "neighbourhood_id": neighbourhood_id,
                    "building_id": self.buildings[compound, number],
                    "unit": unit,
                    "room": room,
                    "floor": normalize.floor_of_room(room),
                }
                for compound, number, unit, room in self.new_households
            ],
        )
        self._load_households()
        self._create_residents(step)
        self._update_residents(step)

    def _create_residents(self, step: Callable[[int], None]) -> None:
        neighbourhood_id = self.neighbourhood.pk
        for start in range(0, len(self.creates), BATCH_SIZE):
            batch = self.creates[start : start + BATCH_SIZE]
            keys = _insert(
                Resident,
                [
                    {"neighbourhood_id": neighbourhood_id, "household_id": self.households[place], **row.values}
                    for place, row in batch
                ],
            )
            _insert(
                ResidentTag,
                [
                    {"resident_id": key, "tag": tag}
                    for key, (_place, row) in zip(keys, batch, strict=True)
                    for tag in row.tags or ()
                ],
            )
            step(len(batch))

    def _update_residents(self, step: Callable[[int], None]) -> None:
        now = timezone.now()
        # Residents to change, grouped by which fields change (a handful of combinations in practice).
        by_fields: dict[tuple[str, ...], dict[int, dict[str, Any]]] = {}
        retag: dict[int, list[str]] = {}
        for resident_id, place, row in self.updates:
            changes = self._changes(resident_id, self.households[place], row)
            if changes:
                changes["updated_at"] = now
                by_fields.setdefault(tuple(changes), {})[resident_id] = changes
            if row.tags is not None and set(row.tags) != self.tags.get(resident_id, set()):
                retag[resident_id] = row.tags
        unchanged = len(self.updates) - sum(map(len, by_fields.values()))
        for fields, group in by_fields.items():
            ids = list(group)
            for start in range(0, len(ids), BATCH_SIZE):
                _update(Resident, fields, {rid: group[rid] for rid in ids[start : start + BATCH_SIZE]})
                step(min(BATCH_SIZE, len(ids) - start))
        ids = list(retag)
        for start in range(0, len(ids), BATCH_SIZE):
            ResidentTag.objects.filter(resident_id__in=ids[start : start + BATCH_SIZE]).delete()
        _insert(ResidentTag, [{"resident_id": rid, "tag": tag} for rid, tags in retag.items() for tag in tags])
        step(unchanged)

    def _changes(self, resident_id: int, household_id: int, row: _Row) -> dict[str, Any]:
        current = dict(zip(_COMPARED, self.current[resident_id], strict=True))
        changes: dict[str, Any] = {}
        if current["household_id"] != household_id:
            changes["household_id"] = household_id
        values = row.values
        for field_name, value in values.items():
            if field_name in _ID_FIELDS or field_name in _PHONE_FIELDS:
                continue
            if current[field_name] != value:
                changes[field_name] = value
        if "id_number_hash" in values and (
            values["id_number_hash"] != current["id_number_hash"] or values["id_type"] != current["id_type"]
        ):
            changes.update({f: values[f] for f in _ID_FIELDS})
        if "phone_hash" in values and values["phone_hash"] != current["phone_hash"]:
            changes.update({f: values[f] for f in _PHONE_FIELDS})
        return changes


def _insert(model: type[models.Model], rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` (attname → value; model defaults fill the rest); their primary keys in order.

    On PostgreSQL this is a binary COPY, with the keys drawn from the table's sequence first:
    bulk_create compiles every value of every row through the field API and SQL, which for
    100,000 residents took longer than checking them; COPY streams the plain values. Encrypted
    fields still go through their field, so values are stored exactly as ``save()`` stores
    them. Elsewhere (SQLite, the laptop install) bulk_create, whose INSERT … RETURNING gives
    the keys.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        objects = [model(**row) for row in rows]
        model._default_manager.bulk_create(objects)
        return [obj.pk for obj in objects]
    meta = model._meta
    now = timezone.now()
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    defaults = {
        f.attname: now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) else f.get_default()
        for f in fields
    }
    encrypted = [(f.attname, f.get_prep_value) for f in fields if isinstance(f, EncryptedTextField)]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = [meta.pk.column, *(f.column for f in fields)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(rows)],
        )
        keys = [key for (key,) in cursor.fetchall()]
        # Binary COPY needs each column's type; it spares both sides formatting and parsing text.
        cursor.execute("SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass", [table])
        types = dict(cursor.fetchall())
        column_list = ", ".join(quote(column) for column in columns)
        with cursor.copy(f"COPY {table} ({column_list}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([types[column] for column in columns])
            for key, row in zip(keys, rows, strict=True):
                values = {**defaults, **row}  # a row's keys are attnames: the column order stays
                for attname, prepare in encrypted:
                    values[attname] = prepare(values[attname])
                copy.write_row((key, *values.values()))
    return keys


def _update(model: type[models.Model], fields: tuple[str, ...], changes: dict[int, dict[str, Any]]) -> None:
    """Set ``fields`` of each row (primary key → attname → value) to that row's own values.

    Not bulk_update: its CASE with a branch per row is evaluated branch by branch, and a
    re-import that changed 100,000 phones took a minute and a half. On PostgreSQL the values
    are COPYed into a temporary table and applied in one UPDATE … FROM; elsewhere one prepared
    UPDATE is run for every row (executemany).
    """
    meta = model._meta
    targets = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    table, pk_column = quote(meta.db_table), quote(meta.pk.column)
    # Every name in these statements comes from the model's metadata, quoted; values are parameters.
    if connection.vendor != "postgresql":
        assignments = ", ".join(f"{quote(f.column)} = %s" for f in targets)
        params = [
            [*(f.get_db_prep_save(values[f.attname], connection) for f in targets), pk]
            for pk, values in changes.items()
        ]
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {pk_column} = %s", params)  # noqa: S608
        return
    encrypted = [(i, f.get_prep_value) for i, f in enumerate(targets) if isinstance(f, EncryptedTextField)]
    columns = ", ".join([pk_column, *(quote(f.column) for f in targets)])
    scratch = quote("jiayuan_import_update")
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {scratch} ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA"  # noqa: S608
        )
        cursor.execute("SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass", [scratch])
        types = dict(cursor.fetchall())
        with cursor.copy(f"COPY {scratch} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([types[meta.pk.column], *(types[f.column] for f in targets)])
            for pk, values in changes.items():
                row = [values[f.attname] for f in targets]
                for index, prepare in encrypted:
                    row[index] = prepare(row[index])
                copy.write_row((pk, *row))
        assignments = ", ".join(f"{quote(f.column)} = u.{quote(f.column)}" for f in targets)
        cursor.execute(
            f"UPDATE {table} AS t SET {assignments} FROM {scratch} AS u WHERE t.{pk_column} = u.{pk_column}"  # noqa: S608
        )
        cursor.execute(f"DROP TABLE {scratch}")


# --- The service -----------------------------------------------------------------------------


def _parse_all(sheet: _Sheet, report_progress: Progress | None, total: int) -> tuple[list[_Row], list[RowError]]:
    parser = _Parser(sheet)
    rows: list[_Row] = []
    for done, (line, cells) in enumerate(sheet.rows, start=1):
        rows.append(parser.parse(line, cells))
        if report_progress and done % PROGRESS_EVERY == 0:
            report_progress(done, total)
    return rows, parser.errors


def roster_import(
    *,
    actor: Any,
    neighbourhood: Neighbourhood,
    data: bytes,
    filename: str,
    commit: bool,
    progress: Progress | None = None,
) -> ImportReport:
    """Check a roster file against the neighbourhood and, with ``commit``, write it.

    ``commit=False`` is the preview and writes nothing. ``commit=True`` checks again against the
    database as it is now and writes only when no row has an error: all rows or none, in one
    transaction, with one ``roster.import`` audit event (counts only, no personal data).
    The caller checks the actor's ``import_roster`` permission.

    ``progress(done, total)`` is called every ``PROGRESS_EVERY`` rows checked and every
    ``BATCH_SIZE`` residents written. In a preview ``total`` is the number of rows; in a commit
    it is twice that: checking fills the first half of the bar, writing the second, so a
    progress bar only moves forward. During a commit it is called inside the transaction, so
    it should record progress elsewhere than in this database connection (the cache, say).

    Raises ``ImportFileError`` when the file cannot be read or has no header row.
    """
    sheet = _read_sheet(data, filename)
    total = len(sheet.rows) * (2 if commit else 1)
    rows, errors = _parse_all(sheet, progress, total)
    report = ImportReport(rows=len(sheet.rows))

    if not commit:
        plan = _Plan(neighbourhood, sheet)
        plan.resolve(rows)
        _finish(report, sheet, plan, errors)
        if progress:
            progress(total, total)
        return report

    if not connection.features.can_return_rows_from_bulk_insert:
        raise ImproperlyConfigured("名单导入需要 PostgreSQL 或 SQLite 3.35 以上版本")
    with transaction.atomic():
        # Serialise imports into one neighbourhood: both would otherwise plan the same new buildings.
        Neighbourhood.objects.select_for_update().get(pk=neighbourhood.pk)
        plan = _Plan(neighbourhood, sheet)
        plan.resolve(rows)
        _finish(report, sheet, plan, errors)
        if report.errors:
            return report
        written = 0
        half = len(sheet.rows)

        def step(n: int) -> None:
            nonlocal written
            written += n
            if progress:
                progress(half + written, total)

        plan.write(step)
        audit_record(
            actor=actor,
            action="roster.import",
            object_type="people.rosterimport",
            object_repr=filename,
            neighbourhood_id=neighbourhood.pk,
            changes={"rows": report.rows, "created": report.created, "updated": report.updated},
        )
        report.committed = True
    return report


def _finish(report: ImportReport, sheet: _Sheet, plan: _Plan, errors: list[RowError]) -> None:
    position = {header: sheet.columns[key] for key, header in sheet.headers.items()}
    report.errors = sorted([*errors, *plan.errors], key=lambda e: (e.row, position.get(e.column, -1)))
    report.valid = report.rows - len({e.row for e in report.errors})
    plan.fill(report)
