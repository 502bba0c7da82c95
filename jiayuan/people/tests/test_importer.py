"""Roster import: the committee's own spreadsheet, as it really is, into the resident record."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook
from stdnum.cn import ric

from jiayuan.conftest import ID_NUMBERS
from jiayuan.core import crypto
from jiayuan.core.models import AuditEvent
from jiayuan.people import importer
from jiayuan.people import services as people_services
from jiayuan.people.choices import Gender, IdType, Presence, Relation, Residency, Tag
from jiayuan.people.importer import COLUMNS, ImportFileError, ImportReport, RowError, roster_import
from jiayuan.people.models import Resident, ResidentTag
from jiayuan.places import services as places_services
from jiayuan.places.models import Building, Compound, Household

HEADER = [
    "小区",
    "楼号",
    "单元",
    "室号",
    "姓名",
    "性别",
    "身份证号",
    "手机",
    "与户主关系",
    "人员类型",
    "在住状态",
    "标签",
    "备注",
]


def mainland_id(serial: int, birth: str = "19800101") -> str:
    """A valid ID number from Baoshan (310113); odd serials are men."""
    body = f"310113{birth}{serial:03d}"
    return body + ric.calc_check_digit(body + "?")  # it ignores the last character


def line(
    *,
    compound="泰和苑",
    building="1",
    unit="1",
    room="301",
    name="张三",
    gender="",
    id_number="",
    phone="",
    relation="",
    residency="",
    presence="",
    tags="",
    notes="",
) -> list:
    """One row in ``HEADER`` order."""
    return [compound, building, unit, room, name, gender, id_number, phone, relation, residency, presence, tags, notes]


def xlsx_file(*rows: list) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_file(*rows: list, encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def run(neighbourhood, data: bytes, *, filename: str = "名单.xlsx", commit: bool = False, **kwargs) -> ImportReport:
    return roster_import(
        actor="test", neighbourhood=neighbourhood, data=data, filename=filename, commit=commit, **kwargs
    )


def errors_of(report: ImportReport) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.message) for e in report.errors]


@pytest.fixture
def good_roster() -> bytes:
    return xlsx_file(
        HEADER,
        line(building="3", room="301", name="张三", id_number=ID_NUMBERS[0], phone="13812345678", relation="户主",
             residency="业主", tags="党员、无智能手机", notes="腿脚不便"),
        line(building="3", room="301", name="李四", id_number=ID_NUMBERS[1], relation="配偶", presence="外出"),
        line(building="3", unit="2", room="1202", name="王五", phone="021-64001234", residency="租户"),
    )  # fmt: skip


# --- Preview and commit of a good file ---------------------------------------------------------


def test_preview_reports_what_would_be_created_and_writes_nothing(neighbourhood, good_roster):
    report = run(neighbourhood, good_roster)

    assert report.as_dict() == {
        "rows": 3,
        "valid": 3,
        "errors": [],
        "created": {"compounds": 1, "buildings": 1, "households": 2, "residents": 3},
        "updated": 0,
        "committed": False,
        "new_buildings": ["泰和苑 3号楼"],
    }
    assert not Compound.objects.exists()
    assert not Resident.objects.exists()
    assert not AuditEvent.objects.filter(action="roster.import").exists()


def test_commit_creates_places_and_residents(neighbourhood, good_roster):
    report = run(neighbourhood, good_roster, commit=True)

    assert report.committed
    assert report.created == {"compounds": 1, "buildings": 1, "households": 2, "residents": 3}
    building = Building.objects.get(neighbourhood=neighbourhood)
    assert (building.compound.name, building.number, building.name, building.sort_key) == ("泰和苑", "3", "3号楼", 3)
    upstairs = Household.objects.get(building=building, unit="2")
    assert (upstairs.room, upstairs.floor, upstairs.neighbourhood_id) == ("1202", 12, neighbourhood.pk)

    zhang = Resident.objects.get(name="张三")
    assert zhang.neighbourhood_id == neighbourhood.pk
    assert zhang.household.label == "1单元 301室"
    assert zhang.id_number == ID_NUMBERS[0]
    assert zhang.id_number_hash == crypto.keyed_hash(ID_NUMBERS[0])
    assert (zhang.gender, zhang.birth_date) == (Gender.MALE, dt.date(1980, 1, 1))  # from the ID number
    assert (zhang.phone, zhang.phone_last4) == ("13812345678", "5678")
    assert (zhang.relation_to_head, zhang.residency, zhang.presence) == (
        Relation.HEAD,
        Residency.OWNER,
        Presence.PRESENT,
    )
    assert zhang.tags == sorted([Tag.PARTY_MEMBER, Tag.NO_SMARTPHONE])
    assert zhang.notes == "腿脚不便"
    li = Resident.objects.get(name="李四")
    assert (li.relation_to_head, li.presence, li.gender) == (Relation.SPOUSE, Presence.AWAY, Gender.FEMALE)
    wang = Resident.objects.get(name="王五")
    assert (wang.phone, wang.residency, wang.id_number, wang.id_number_hash) == (
        "021-64001234",
        Residency.TENANT,
        "",
        "",
    )


def test_id_numbers_and_phones_are_encrypted_at_rest(neighbourhood, good_roster):
    run(neighbourhood, good_roster, commit=True)

    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, phone FROM people_resident WHERE name = %s", ["张三"])
        stored_id, stored_phone = cursor.fetchone()
    assert ID_NUMBERS[0] not in stored_id
    assert (crypto.decrypt(stored_id), crypto.decrypt(stored_phone)) == (ID_NUMBERS[0], "13812345678")


def test_residents_and_places_added_after_an_import_get_fresh_ids(neighbourhood, good_roster):
    run(neighbourhood, good_roster, commit=True)
    household = Household.objects.first()

    later = people_services.resident_create(
        actor=None, neighbourhood_id=neighbourhood.pk, household=household, name="后来者", tags=[Tag.INFANT]
    )
    room = places_services.household_create(actor=None, building=household.building, room="999")

    assert Resident.objects.filter(pk=later.pk).count() == 1
    assert Resident.objects.count() == 4
    assert Household.objects.filter(pk=room.pk).exists()


def test_commit_writes_one_audit_event_without_personal_data(neighbourhood, good_roster, head):
    run(neighbourhood, good_roster, commit=True, filename="泰和名单.xlsx")

    event = AuditEvent.objects.get(action="roster.import")
    assert (event.object_type, event.object_repr, event.neighbourhood_id) == (
        "people.rosterimport",
        "泰和名单.xlsx",
        neighbourhood.pk,
    )
    assert event.changes["created"]["residents"] == 3
    dumped = json.dumps(event.changes, ensure_ascii=False)
    for secret in (ID_NUMBERS[0], "13812345678", "张三"):
        assert secret not in dumped


def test_commit_audit_names_the_user_who_imported(neighbourhood, good_roster, head):
    roster_import(actor=head, neighbourhood=neighbourhood, data=good_roster, filename="名单.xlsx", commit=True)

    event = AuditEvent.objects.get(action="roster.import")
    assert (event.actor, event.actor_label) == (head, "head")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_utf8_or_the_gbk_excel_saves(neighbourhood, encoding):
    data = csv_file(HEADER, line(name="张三", id_number=ID_NUMBERS[0], tags="独居老人"), encoding=encoding)

    report = run(neighbourhood, data, filename="名单.CSV", commit=True)

    assert (report.rows, report.errors, report.committed) == (1, [], True)
    resident = Resident.objects.get()
    assert (resident.name, resident.tags) == ("张三", [Tag.ELDERLY_ALONE])


def test_progress_moves_forward_and_ends_full(neighbourhood, monkeypatch):
    monkeypatch.setattr("jiayuan.people.importer.PROGRESS_EVERY", 2)
    monkeypatch.setattr("jiayuan.people.importer.BATCH_SIZE", 2)
    data = csv_file(HEADER, *[line(room=f"{100 + i}", name=f"居民{i}") for i in range(5)])
    calls: list[tuple[int, int]] = []

    run(neighbourhood, data, filename="a.csv", commit=True, progress=lambda done, total: calls.append((done, total)))

    assert {total for _done, total in calls} == {10}  # a commit's bar covers checking and writing
    assert [done for done, _total in calls] == sorted(done for done, _total in calls)
    assert calls[-1] == (10, 10)


def test_preview_progress_counts_rows(neighbourhood, monkeypatch):
    monkeypatch.setattr("jiayuan.people.importer.PROGRESS_EVERY", 2)
    data = csv_file(HEADER, *[line(room=f"{100 + i}", name=f"居民{i}") for i in range(5)])
    calls: list[tuple[int, int]] = []

    run(neighbourhood, data, filename="a.csv", progress=lambda done, total: calls.append((done, total)))

    assert calls == [(2, 5), (4, 5), (5, 5)]


# --- Finding the header and numbering rows ------------------------------------------------------


def test_title_rows_above_the_header_keep_spreadsheet_row_numbers(neighbourhood):
    workbook = Workbook()
    sheet = workbook.active
    sheet["A1"] = "泰和居民区人员登记表"
    sheet.merge_cells("A1:M1")
    sheet["A2"] = "填表日期:2022年4月1日"
    sheet.append(HEADER)
    sheet.append(line(name="张三"))
    sheet.append(line(name="", room="302"))
    buffer = io.BytesIO()
    workbook.save(buffer)

    report = run(neighbourhood, buffer.getvalue())

    assert report.rows == 2
    assert errors_of(report) == [(5, "姓名", "缺少姓名")]  # header in row 3, data from row 4


def test_empty_rows_above_the_header_still_count(neighbourhood):
    # calamine skips leading empty rows unless told not to: row numbers would drift.
    workbook = Workbook()
    sheet = workbook.active
    for column, header in enumerate(HEADER, start=2):
        sheet.cell(row=4, column=column, value=header)
    for column, value in enumerate(line(name=""), start=2):
        sheet.cell(row=5, column=column, value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)

    report = run(neighbourhood, buffer.getvalue())

    assert errors_of(report) == [(5, "姓名", "缺少姓名")]


def test_blank_rows_are_skipped_and_not_counted(neighbourhood):
    data = csv_file(
        HEADER,
        line(name="张三", room="301"),
        [""] * len(HEADER),
        [" ", "\u3000", "", "  "],
        [],
        line(name="", room="302"),
    )

    report = run(neighbourhood, data, filename="a.csv")

    assert (report.rows, report.valid) == (2, 1)
    assert errors_of(report) == [(6, "姓名", "缺少姓名")]


def test_merged_room_cells_apply_to_every_member_of_the_household(neighbourhood):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["楼号", "室号", "姓名"])
    sheet.append(["3", "301", "张三"])
    sheet.append([None, None, "李四"])
    sheet.merge_cells("A2:A3")
    sheet.merge_cells("B2:B3")
    buffer = io.BytesIO()
    workbook.save(buffer)

    report = run(neighbourhood, buffer.getvalue(), commit=True)

    assert (report.errors, report.created["households"], report.created["residents"]) == ([], 1, 2)


SYNONYM_CASES = [
    ("name", "张三", lambda r: r.name == "张三"),
    ("id_number", ID_NUMBERS[0], lambda r: r.id_number == ID_NUMBERS[0]),
    ("id_type", "护照", lambda r: r.id_type == IdType.PASSPORT),
    ("phone", "13812345678", lambda r: r.phone == "13812345678"),
    ("compound", "红御苑", lambda r: r.household.building.compound.name == "红御苑"),
    ("building", "7", lambda r: r.household.building.number == "7"),
    ("unit", "2", lambda r: r.household.unit == "2"),
    ("room", "601", lambda r: r.household.room == "601"),
    ("gender", "女", lambda r: r.gender == Gender.FEMALE),
    ("birth_date", "1990-03-03", lambda r: r.birth_date == dt.date(1990, 3, 3)),
    ("relation", "子女", lambda r: r.relation_to_head == Relation.CHILD),
    ("residency", "租户", lambda r: r.residency == Residency.TENANT),
    ("presence", "住院", lambda r: r.presence == Presence.HOSPITALISED),
    ("tags", "孕妇", lambda r: r.tags == [Tag.PREGNANT]),
    ("notes", "需要轮椅", lambda r: r.notes == "需要轮椅"),
]
BASE = {"name": "张三", "building": "1", "room": "301"}


@pytest.mark.parametrize(
    ("key", "header", "value", "check"),
    [(key, header, value, check) for key, value, check in SYNONYM_CASES for header in COLUMNS[key]],
)
def test_every_header_synonym_is_recognised(neighbourhood, key, header, value, check):
    cells = {**BASE, key: value}
    if key == "id_type":
        cells["id_number"] = "E12345678"
    headers = [header if k == key else COLUMNS[k][0] for k in cells]
    data = xlsx_file(headers, list(cells.values()))

    report = run(neighbourhood, data, commit=True)

    assert report.errors == []
    assert check(Resident.objects.select_related("household__building__compound").get())


@pytest.mark.parametrize("header", ["姓名(必填)", "*姓名", "＊ 姓名", "姓 名", " 姓名（必填）", "姓名【必填】"])
def test_header_with_notes_stars_spaces_and_full_width(neighbourhood, header):
    data = xlsx_file([header, "楼号", "室号"], ["张三", "1", "301"])

    assert run(neighbourhood, data).valid == 1


def test_messy_values_are_normalised(neighbourhood):
    data = xlsx_file(
        HEADER,
        line(building="３号楼", unit="２单元", room="３０１室", name=" 张三 ", id_number=" 31011319850615002x ",
             phone="+86 138-1234-5678"),
        line(building="3幢", unit="2", room="301", name="李四", phone="(021)6400 1234"),
        line(building=3.0, unit=2.0, room=301.0, name="王五", phone=13912345678.0),
    )  # fmt: skip

    report = run(neighbourhood, data, commit=True)

    assert report.errors == []
    assert report.created["households"] == 1
    zhang, li, wang = Resident.objects.order_by("id")
    assert (zhang.name, zhang.id_number, zhang.phone) == ("张三", "31011319850615002X", "13812345678")
    assert li.phone == "021-64001234"
    assert wang.phone == "13912345678"
    assert zhang.household_id == li.household_id == wang.household_id


def test_birth_date_cells_as_dates_and_text(neighbourhood):
    data = xlsx_file(
        ["楼号", "室号", "姓名", "出生日期"],
        ["1", "301", "张三", dt.date(1950, 5, 1)],
        ["1", "301", "李四", "1952年6月2日"],
    )

    run(neighbourhood, data, commit=True)

    assert dict(Resident.objects.values_list("name", "birth_date")) == {
        "张三": dt.date(1950, 5, 1),
        "李四": dt.date(1952, 6, 2),
    }


# --- Errors, each with its row, column and message -----------------------------------------------


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        ({"id_number": "310113198001010014"}, "身份证号", "身份证号校验位错误,请核对"),
        ({"id_number": "31011319800101001"}, "身份证号", "身份证号应为18位(当前17位)"),
        ({"id_number": mainland_id(1, birth="19801332")}, "身份证号", "身份证号中的出生日期无效"),
        ({"name": ""}, "姓名", "缺少姓名"),
        ({"phone": "12812345678"}, "手机", "手机号码号段无效"),
        ({"phone": "138123"}, "手机", "电话号码位数不对(手机11位,座机带区号)"),
        ({"building": ""}, "楼号", "缺少楼号"),
        ({"room": ""}, "室号", "缺少室号"),
        ({"id_number": ID_NUMBERS[0], "gender": "女"}, "性别", "性别与身份证号不符"),
        ({"tags": "党员、VIP"}, "标签", "未知标签:VIP"),
        ({"presence": "不知道"}, "在住状态", "在住状态无法识别:不知道"),
        ({"gender": "男女"}, "性别", "性别应为“男”或“女”"),
        ({"building": "1" * 17}, "楼号", "楼号过长(最多16个字符)"),
    ],
)
def test_row_error(neighbourhood, cells, column, message):
    data = xlsx_file(HEADER, line(name="好人", room="101"), line(**{"name": "李四", **cells}))

    report = run(neighbourhood, data)

    assert errors_of(report) == [(3, column, message)]
    assert (report.rows, report.valid) == (2, 1)


def test_birth_date_contradicting_the_id(neighbourhood):
    data = xlsx_file(
        ["楼号", "室号", "姓名", "身份证号", "出生年月"], ["1", "301", "张三", ID_NUMBERS[0], "1981-01-01"]
    )

    report = run(neighbourhood, data)

    assert errors_of(report) == [(2, "出生年月", "出生日期与身份证号不符")]


def test_id_that_excel_stored_as_a_number_is_refused(neighbourhood):
    data = xlsx_file(HEADER, line(id_number=310113198001010013))

    report = run(neighbourhood, data)

    assert errors_of(report) == [(2, "身份证号", "身份证号被Excel存成了数字,请把该列设为文本")]


def test_id_that_a_csv_kept_in_scientific_notation_is_refused(neighbourhood):
    data = csv_file(HEADER, line(id_number="3.10113E+17"))

    assert errors_of(run(neighbourhood, data, filename="a.csv")) == [
        (2, "身份证号", "身份证号被Excel存成了数字,请把该列设为文本")
    ]


def test_duplicate_id_in_the_file_names_the_first_row(neighbourhood):
    data = xlsx_file(
        HEADER,
        line(name="张三", room="101"),
        line(name="李四", room="102", id_number=ID_NUMBERS[0]),
        line(name="王五", room="103"),
        line(name="赵六", room="104", id_number=ID_NUMBERS[1]),
        line(name="钱七", room="105", id_number=" " + ID_NUMBERS[1].lower()),
    )

    assert errors_of(run(neighbourhood, data)) == [(6, "身份证号", "与第5行身份证号重复")]


def test_duplicate_passport_number_is_called_a_document_number(neighbourhood):
    data = xlsx_file(
        ["楼号", "室号", "姓名", "证件类型", "证件号码"],
        ["1", "101", "Anna", "护照", "E1234567"],
        ["1", "102", "Bob", "护照", "E1234567"],
    )

    assert errors_of(run(neighbourhood, data)) == [(3, "证件号码", "与第2行证件号码重复")]


def test_id_registered_in_another_household_of_the_neighbourhood(neighbourhood, household, make_resident):
    make_resident(household, name="张三", id_number=ID_NUMBERS[0])
    data = xlsx_file(HEADER, line(building="1", unit="1", room="302", name="张三", id_number=ID_NUMBERS[0]))

    report = run(neighbourhood, data)

    assert errors_of(report) == [(2, "身份证号", "该身份证号已登记在 泰和苑 1号楼 1单元301室")]


def test_same_id_in_another_neighbourhood_is_no_conflict(neighbourhood, other_neighbourhood, make_resident):
    compound = places_services.compound_create(actor=None, neighbourhood=other_neighbourhood, name="红御苑")
    building = places_services.building_create(actor=None, compound=compound, number="1")
    elsewhere = places_services.household_create(actor=None, building=building, room="101")
    make_resident(elsewhere, name="张三", id_number=ID_NUMBERS[0])

    report = run(neighbourhood, xlsx_file(HEADER, line(id_number=ID_NUMBERS[0])), commit=True)

    assert (report.errors, report.created["residents"]) == ([], 1)


def test_same_name_twice_in_one_household_without_ids(neighbourhood):
    data = xlsx_file(HEADER, line(name="张三"), line(name="李四"), line(name="张三"))

    assert errors_of(run(neighbourhood, data)) == [(4, "姓名", "与第2行重复:同一户中同名且都没有证件号码")]


def test_two_rows_matching_one_resident_on_record(neighbourhood, household, make_resident):
    make_resident(household, name="张三", id_number=ID_NUMBERS[0])
    data = xlsx_file(HEADER, line(name="张三", id_number=ID_NUMBERS[0]), line(name="张三"))

    assert errors_of(run(neighbourhood, data)) == [(3, "姓名", "与第2行是同一位居民")]


def test_all_errors_of_a_row_are_reported_together_in_column_order(neighbourhood):
    data = xlsx_file(HEADER, line(name="", room="", phone="123", tags="外星人"))

    report = run(neighbourhood, data)

    assert errors_of(report) == [
        (2, "室号", "缺少室号"),
        (2, "姓名", "缺少姓名"),
        (2, "手机", "电话号码位数不对(手机11位,座机带区号)"),
        (2, "标签", "未知标签:外星人"),
    ]
    assert report.valid == 0


# --- Compounds ----------------------------------------------------------------------------------

NO_COMPOUND_HEADER = ["楼号", "室号", "姓名"]


def test_no_compounds_yet_creates_one_named_after_the_neighbourhood(neighbourhood):
    report = run(neighbourhood, xlsx_file(NO_COMPOUND_HEADER, ["1", "301", "张三"]), commit=True)

    assert report.new_buildings == ["泰和居民区 1号楼"]
    assert Compound.objects.get().name == "泰和居民区"


def test_the_only_compound_is_used_when_the_file_does_not_say(neighbourhood, compound):
    report = run(neighbourhood, xlsx_file(NO_COMPOUND_HEADER, ["9", "301", "张三"]), commit=True)

    assert report.created["compounds"] == 0
    assert Building.objects.get(number="9").compound == compound


def test_building_number_found_in_one_compound_decides(neighbourhood, compound, building):
    other = places_services.compound_create(actor=None, neighbourhood=neighbourhood, name="红御苑")
    places_services.building_create(actor=None, compound=other, number="5")

    report = run(neighbourhood, xlsx_file(NO_COMPOUND_HEADER, ["1", "301", "张三"], ["5", "301", "李四"]), commit=True)

    assert report.created == {"compounds": 0, "buildings": 0, "households": 2, "residents": 2}
    assert Resident.objects.get(name="张三").household.building == building
    assert Resident.objects.get(name="李四").household.building.compound == other


def test_unknown_building_with_several_compounds_needs_the_compound_column(neighbourhood, compound):
    places_services.compound_create(actor=None, neighbourhood=neighbourhood, name="红御苑")

    report = run(neighbourhood, xlsx_file(NO_COMPOUND_HEADER, ["9", "301", "张三"]))

    assert errors_of(report) == [(2, "", "本居民区有多个小区,请填写小区列")]


def test_empty_compound_cell_with_an_ambiguous_building_is_an_error_on_that_column(neighbourhood, compound, building):
    other = places_services.compound_create(actor=None, neighbourhood=neighbourhood, name="红御苑")
    places_services.building_create(actor=None, compound=other, number="1")

    report = run(neighbourhood, xlsx_file(HEADER, line(compound="", building="1")))

    assert errors_of(report) == [(2, "小区", "本居民区有多个小区,请填写小区列")]


def test_compound_named_elsewhere_in_the_file_settles_rows_that_leave_it_empty(neighbourhood):
    data = xlsx_file(HEADER, line(compound="", building="2", name="李四"), line(compound="红御苑", building="2"))

    report = run(neighbourhood, data, commit=True)

    assert report.created["compounds"] == 1
    assert Compound.objects.get().name == "红御苑"


def test_new_compound_and_buildings_are_listed_in_natural_order(neighbourhood, compound, building):
    data = xlsx_file(
        HEADER,
        line(building="10", name="甲"),
        line(building="2", name="乙"),
        line(building="1", name="丙"),
        line(compound="红御苑", building="1", name="丁"),
    )

    report = run(neighbourhood, data)

    assert report.new_buildings == ["泰和苑 2号楼", "泰和苑 10号楼", "红御苑 1号楼"]
    assert report.created == {"compounds": 1, "buildings": 3, "households": 4, "residents": 4}


# --- All or nothing -----------------------------------------------------------------------------


def test_one_bad_row_among_good_ones_commits_nothing(neighbourhood, household, make_resident):
    make_resident(household, name="老住户", id_number=ID_NUMBERS[4])
    before = Resident.objects.count()
    data = xlsx_file(
        HEADER,
        line(building="5", name="张三", id_number=ID_NUMBERS[0]),
        line(building="5", name="李四", id_number="310113198001010014"),
        line(building="1", name="老住户", id_number=ID_NUMBERS[4], phone="13800000000"),
    )

    report = run(neighbourhood, data, commit=True)

    assert not report.committed
    assert [e.row for e in report.errors] == [3]
    assert Resident.objects.count() == before
    assert not Building.objects.filter(number="5").exists()
    assert Resident.objects.get(name="老住户").phone == ""
    assert not AuditEvent.objects.filter(action="roster.import").exists()


def test_failure_while_writing_rolls_everything_back(neighbourhood, compound, monkeypatch):
    real_insert = importer._insert

    def insert_failing_on_tags(model, rows):
        if model is ResidentTag:
            raise RuntimeError("disk full")
        return real_insert(model, rows)

    # Tags are written after the residents and the new places: all of those must go too.
    monkeypatch.setattr(importer, "_insert", insert_failing_on_tags)
    data = xlsx_file(HEADER, line(building="8", name="张三", tags="党员"), line(compound="新苑", name="李四"))

    with pytest.raises(RuntimeError):
        run(neighbourhood, data, commit=True)

    assert not Resident.objects.exists()
    assert not Household.objects.exists()
    assert not Building.objects.exists()
    assert list(Compound.objects.all()) == [compound]
    assert not AuditEvent.objects.filter(action="roster.import").exists()


# --- Re-import and updates ----------------------------------------------------------------------


def test_importing_the_same_file_twice_updates_and_never_duplicates(neighbourhood, good_roster):
    first = run(neighbourhood, good_roster, commit=True)
    second = run(neighbourhood, good_roster, commit=True)

    assert second.committed
    assert second.created == {"compounds": 0, "buildings": 0, "households": 0, "residents": 0}
    assert (second.updated, first.updated) == (3, 0)
    assert second.new_buildings == []
    assert Resident.objects.count() == 3
    assert ResidentTag.objects.count() == 2


def test_update_of_an_existing_residents_phone(neighbourhood, household, make_resident):
    resident = make_resident(household, name="张三", id_number=ID_NUMBERS[0], phone="13800000000", notes="独居")
    data = xlsx_file(HEADER, line(name="张三", id_number=ID_NUMBERS[0], phone="139 1234 5678"))

    report = run(neighbourhood, data, commit=True)

    assert (report.updated, report.created["residents"]) == (1, 0)
    resident.refresh_from_db()
    assert (resident.phone, resident.phone_last4) == ("13912345678", "5678")
    assert resident.phone_hash == crypto.keyed_hash("13912345678")
    assert resident.notes == "独居"  # an empty cell keeps what is on record


def test_rows_changing_different_fields_are_all_updated(neighbourhood, household, household2, make_resident):
    zhang = make_resident(household, name="张三", id_number=ID_NUMBERS[0], phone="13800000000")
    li = make_resident(household, name="李四", id_number=ID_NUMBERS[1])
    wang = make_resident(household2, name="王五", id_number=ID_NUMBERS[2], presence=Presence.AWAY)
    data = xlsx_file(
        HEADER,
        line(name="张三", id_number=ID_NUMBERS[0], phone="13912345678"),
        line(name="李四", id_number=ID_NUMBERS[1], presence="住院", notes="3月起住院"),
        line(building="2", room="502", name="王五", id_number=ID_NUMBERS[2], presence="外出"),
    )

    report = run(neighbourhood, data, commit=True)

    assert report.updated == 3
    zhang.refresh_from_db()
    li.refresh_from_db()
    wang_before, wang = wang.updated_at, Resident.objects.get(pk=wang.pk)
    assert (zhang.phone, zhang.presence) == ("13912345678", Presence.PRESENT)
    assert (li.presence, li.notes, li.phone) == (Presence.HOSPITALISED, "3月起住院", "")
    assert (wang.presence, wang.updated_at) == (Presence.AWAY, wang_before)


def test_resident_without_id_is_matched_by_household_and_name(neighbourhood, household, make_resident):
    resident = make_resident(household, name="张三")
    data = xlsx_file(HEADER, line(name="张三", presence="外出"), line(name="张三", room="302"))

    report = run(neighbourhood, data, commit=True)

    assert (report.updated, report.created["residents"]) == (1, 1)
    resident.refresh_from_db()
    assert resident.presence == Presence.AWAY


def test_id_added_to_a_resident_registered_without_one(neighbourhood, household, make_resident):
    resident = make_resident(household, name="张三")

    report = run(neighbourhood, xlsx_file(HEADER, line(name="张三", id_number=ID_NUMBERS[0])), commit=True)

    assert report.updated == 1
    resident.refresh_from_db()
    assert (resident.id_number, resident.gender) == (ID_NUMBERS[0], Gender.MALE)


def test_namesake_with_another_id_is_another_person(neighbourhood, household, make_resident):
    make_resident(household, name="张三", id_number=ID_NUMBERS[0])

    report = run(neighbourhood, xlsx_file(HEADER, line(name="张三", id_number=ID_NUMBERS[2])), commit=True)

    assert (report.updated, report.created["residents"]) == (0, 1)


def test_resident_on_record_without_a_household_is_placed_in_the_files(neighbourhood, compound):
    resident = people_services.resident_create(
        actor=None, neighbourhood_id=neighbourhood.pk, household=None, name="张三", id_number=ID_NUMBERS[0]
    )

    report = run(neighbourhood, xlsx_file(HEADER, line(building="2", id_number=ID_NUMBERS[0])), commit=True)

    assert report.errors == []
    resident.refresh_from_db()
    assert resident.household.building.number == "2"


def test_tag_column_replaces_tags_and_missing_column_keeps_them(neighbourhood, household, make_resident):
    resident = make_resident(household, name="张三", id_number=ID_NUMBERS[0], tags=[Tag.PARTY_MEMBER, Tag.BEDRIDDEN])

    run(neighbourhood, xlsx_file(["楼号", "单元", "室号", "姓名"], ["1", "1", "301", "张三"]), commit=True)
    assert resident.tags == [Tag.BEDRIDDEN, Tag.PARTY_MEMBER]

    run(neighbourhood, xlsx_file(HEADER, line(name="张三", tags="党员、慢病")), commit=True)
    resident = Resident.objects.get(pk=resident.pk)
    assert resident.tags == [Tag.CHRONIC_ILLNESS, Tag.PARTY_MEMBER]


def test_unchanged_rows_are_not_rewritten(neighbourhood, household, make_resident):
    make_resident(household, name="张三", id_number=ID_NUMBERS[0], phone="13812345678")
    data = xlsx_file(HEADER, line(name="张三", id_number=ID_NUMBERS[0], phone="13812345678"))
    before = Resident.objects.get().updated_at

    report = run(neighbourhood, data, commit=True)

    assert report.updated == 1
    assert Resident.objects.get().updated_at == before


def test_commit_queries_do_not_grow_with_rows(neighbourhood, other_neighbourhood):
    def queries_to_import(into, buildings: int) -> int:
        rows = [
            line(building=str(b), room=f"{r}01", name=f"居民{b}-{r}", tags="党员")
            for b in range(1, buildings + 1)
            for r in range(1, 9)
        ]
        with CaptureQueriesContext(connection) as queries:
            report = run(into, xlsx_file(HEADER, *rows), commit=True)
        assert report.created["residents"] == buildings * 8
        return len(queries)

    assert queries_to_import(neighbourhood, 1) == queries_to_import(other_neighbourhood, 6)


# --- The file as a whole ------------------------------------------------------------------------


@pytest.mark.parametrize("filename", ["名单.xls", "名单.txt", "名单", "名单.xlsx.pdf"])
def test_only_xlsx_and_csv_are_accepted(neighbourhood, filename):
    with pytest.raises(ImportFileError, match=r"只支持 \.xlsx 和 \.csv 文件"):
        run(neighbourhood, b"whatever", filename=filename)


def test_a_file_that_is_not_really_xlsx(neighbourhood):
    with pytest.raises(ImportFileError, match="无法读取该 Excel 文件"):
        run(neighbourhood, b"PK\x03\x04 not a zip really", filename="名单.xlsx")


def test_no_header_in_the_first_fifteen_rows(neighbourhood):
    data = xlsx_file(*[[f"说明第{i}行"] for i in range(15)], ["姓名", "楼号", "室号"], ["张三", "1", "301"])

    with pytest.raises(ImportFileError, match="没有找到表头"):
        run(neighbourhood, data)


def test_name_alone_is_not_a_header(neighbourhood):
    with pytest.raises(ImportFileError, match="没有找到表头"):
        run(neighbourhood, csv_file(["姓名", "爱好"], ["张三", "下棋"]), filename="a.csv")


def test_header_without_building_or_room_columns(neighbourhood):
    with pytest.raises(ImportFileError, match="缺少必需的列:室号"):
        run(neighbourhood, csv_file(["姓名", "楼号"], ["张三", "1"]), filename="a.csv")


def test_roster_on_a_later_sheet_after_an_instructions_sheet(neighbourhood):
    workbook = Workbook()
    workbook.active.append(["填表说明:身份证号请设为文本格式"])
    roster = workbook.create_sheet("名单")
    roster.append(["楼号", "室号", "姓名"])
    roster.append(["1", "301", "张三"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    assert run(neighbourhood, buffer.getvalue()).valid == 1


def test_report_as_dict_has_the_documented_shape(neighbourhood):
    report = ImportReport(rows=2, valid=1, errors=[RowError(3, "姓名", "缺少姓名")], updated=1)

    assert report.as_dict() == {
        "rows": 2,
        "valid": 1,
        "errors": [{"row": 3, "column": "姓名", "message": "缺少姓名"}],
        "created": {"compounds": 0, "buildings": 0, "households": 0, "residents": 0},
        "updated": 1,
        "committed": False,
        "new_buildings": [],
    }
