"""Roster export to xlsx: masked by default, full values only with the permission, always audited.

The columns carry the headers the importer recognises, so an unmasked export can be edited in
Excel and imported back into the same neighbourhood as an update.
"""

from __future__ import annotations

import io
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils import translation
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from jiayuan.core.audit import audit_record
from jiayuan.core.exports import safe_cell, safe_row
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can
from jiayuan.people.choices import Gender, IdType, Presence, Relation, Residency, Tag
from jiayuan.people.models import Resident
from jiayuan.people.selectors import resident_list

__all__ = ["roster_export", "roster_template"]

_TEXT = "@"  # Excel's "text" number format: keeps Excel from turning an ID into 3.10113E+17

# (header, column width, whether Excel must keep the cell as text)
_COLUMNS: list[tuple[str, int, bool]] = [
    ("小区", 14, False),
    ("楼号", 8, True),
    ("单元", 6, True),
    ("室号", 8, True),
    ("姓名", 10, False),
    ("性别", 6, False),
    ("出生日期", 12, False),
    ("证件类型", 22, False),
    ("证件号码", 22, True),
    ("联系电话", 16, True),
    ("与户主关系", 10, False),
    ("人员类型", 10, False),
    ("在住状态", 10, False),
    ("标签", 24, False),
    ("备注", 30, False),
]
_CHOICES = {"gender": Gender, "id_type": IdType, "relation": Relation, "residency": Residency, "presence": Presence}


def _labels() -> dict[str, dict[str, str]]:
    """Choice labels in the active language, looked up once per export.

    ``get_FOO_display()`` rebuilds and translates the whole choice list on every call, which
    was a third of the time of a large export.
    """
    labels = {name: {code: str(label) for code, label in choices.choices} for name, choices in _CHOICES.items()}
    labels["gender"][Gender.UNKNOWN] = ""  # "未知" would not import back: unknown is an empty cell
    labels["tag"] = {code: str(label) for code, label in Tag.choices}
    return labels


def _row(resident: Resident, unmasked: bool, labels: dict[str, dict[str, str]]) -> list[Any]:
    household = resident.household
    building = household.building if household else None
    return [
        building.compound.name if building else "",
        building.number if building else "",
        household.unit if household else "",
        household.room if household else "",
        resident.name,
        labels["gender"].get(resident.gender, ""),
        resident.birth_date,
        labels["id_type"].get(resident.id_type, "") if resident.id_number else "",
        resident.id_number if unmasked else resident.id_number_masked,
        resident.phone if unmasked else resident.phone_masked,
        labels["relation"].get(resident.relation_to_head, ""),
        labels["residency"].get(resident.residency, ""),
        labels["presence"].get(resident.presence, ""),
        "、".join(labels["tag"].get(tag, tag) for tag in resident.tags),
        resident.notes,
    ]


def _cell(sheet: Any, value: Any, *, text: bool = False, bold: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if text:
        cell.number_format = _TEXT
    if bold:
        cell.font = Font(bold=True)
    return cell


def roster_export(*, actor: Any, user: Any, unmasked: bool = False, building_id: int | None = None) -> bytes:
    """The residents ``user`` may export (one building with ``building_id``) as an xlsx file.

    ID numbers and phones are masked unless ``unmasked``, which needs the
    ``export_roster_unmasked`` permission (``PermissionDenied`` otherwise). Writes a
    ``roster.export`` / ``roster.export_unmasked`` audit event with the count.
    """
    action = Action.EXPORT_ROSTER_UNMASKED if unmasked else Action.EXPORT_ROSTER
    if not can(user, action):
        raise PermissionDenied
    residents = resident_list(user=user, building_id=building_id, action=action)

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("居民名单")
    sheet.freeze_panes = "A2"
    for index, (_header, width, _text) in enumerate(_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.append([_cell(sheet, header, bold=True) for header, _width, _text in _COLUMNS])
    text_columns = [index for index, (_header, _width, text) in enumerate(_COLUMNS) if text]
    # The file is meant to be edited and imported back, and the importer reads Chinese labels:
    # write them in Chinese whatever language the person exporting uses.
    with translation.override("zh-hans"):
        labels = _labels()
    count = 0
    neighbourhood_ids: set[int] = set()
    for resident in residents.iterator(chunk_size=2000):
        # A name or note typed as "=HYPERLINK(…)" must stay text, not become a live formula.
        values = safe_row(_row(resident, unmasked, labels))
        for index in text_columns:
            values[index] = _cell(sheet, values[index], text=True)
        sheet.append(values)
        count += 1
        neighbourhood_ids.add(resident.neighbourhood_id)
    buffer = io.BytesIO()
    workbook.save(buffer)

    audit_record(
        actor=actor,
        action="roster.export_unmasked" if unmasked else "roster.export",
        object_type="people.resident",
        object_repr=f"居民名单 {count} 人",
        neighbourhood_id=next(iter(neighbourhood_ids)) if len(neighbourhood_ids) == 1 else None,
        changes={"count": count, "unmasked": unmasked, "building": building_id},
    )
    return buffer.getvalue()


# The example row of the import template: a made-up person (the ID number is the standard's
# own example, valid but nobody's), consistent with itself so that it checks without errors.
_EXAMPLE = {
    "单元": "1",
    "室号": "101",
    "姓名": "张三",
    "性别": "女",
    "出生日期": "1949-12-31",
    "证件类型": "居民身份证",
    "证件号码": "11010519491231002X",
    "联系电话": "13800138000",
    "与户主关系": "户主",
    "人员类型": "业主",
    "在住状态": "在住",
    "标签": "独居老人",
    "备注": "示例行, 填写前请删除",
}


def roster_template(*, neighbourhood: Any) -> bytes:
    """The import template: the export's headers (which the importer reads) and one example row.

    The example uses the neighbourhood's first compound and building, so it checks cleanly
    against that neighbourhood as it is.
    """
    from jiayuan.places.models import Building

    building = (
        Building.objects.filter(neighbourhood=neighbourhood)
        .select_related("compound")
        .order_by("compound__name", "sort_key", "number")
        .first()
    )
    example = {
        **_EXAMPLE,
        "小区": building.compound.name if building else "示例小区",
        "楼号": building.number if building else "1",
    }
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("居民名单")
    sheet.freeze_panes = "A2"
    for index, (_header, width, _text) in enumerate(_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.append([_cell(sheet, header, bold=True) for header, _width, _text in _COLUMNS])
    sheet.append([_cell(sheet, safe_cell(example[header]), text=text) for header, _width, text in _COLUMNS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
