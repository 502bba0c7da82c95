"""Roster export: masked unless the user may see full values, scoped, audited, and importable again."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.exceptions import PermissionDenied
from openpyxl import load_workbook

from jiayuan.conftest import ID_NUMBERS
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.people.choices import IdType, Presence, Relation, Residency, Tag
from jiayuan.people.exporter import roster_export
from jiayuan.people.importer import roster_import
from jiayuan.people.models import Resident
from jiayuan.places import services as places_services

HEADERS = [
    "小区",
    "楼号",
    "单元",
    "室号",
    "姓名",
    "性别",
    "出生日期",
    "证件类型",
    "证件号码",
    "联系电话",
    "与户主关系",
    "人员类型",
    "在住状态",
    "标签",
    "备注",
]


@pytest.fixture
def residents(household, household2, make_resident):
    return [
        make_resident(
            household,
            name="张三",
            id_number=ID_NUMBERS[0],
            phone="13812345678",
            relation_to_head=Relation.HEAD,
            tags=[Tag.PARTY_MEMBER, Tag.ELDERLY_ALONE],
            notes="腿脚不便",
        ),
        make_resident(household, name="李四", id_number=ID_NUMBERS[1], presence=Presence.AWAY, tags=[Tag.DIALYSIS]),
        make_resident(household2, name="王五", phone="021-64001234", residency=Residency.TENANT),
        make_resident(household2, name="Anna", id_type=IdType.PASSPORT, id_number="E1234567"),
    ]


def sheet_rows(data: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(data)).active.values)


def by_name(rows: list[tuple]) -> dict[str, dict]:
    return {row[4]: dict(zip(HEADERS, row, strict=True)) for row in rows[1:]}


def test_export_by_committee_staff_is_masked(neighbourhood, residents, make_user):
    staff = make_user(Role.COMMITTEE_STAFF, neighbourhood)

    data = roster_export(actor=staff, user=staff)

    rows = sheet_rows(data)
    assert list(rows[0]) == HEADERS
    zhang = by_name(rows)["张三"]
    assert zhang == {
        "小区": "泰和苑",
        "楼号": "1",
        "单元": "1",
        "室号": "301",
        "姓名": "张三",
        "性别": "男",
        "出生日期": dt.datetime(1980, 1, 1),
        "证件类型": "居民身份证",
        "证件号码": "3101**********0013",
        "联系电话": "138****5678",
        "与户主关系": "户主",
        "人员类型": "业主",
        "在住状态": "在住",
        "标签": "独居老人、党员",
        "备注": "腿脚不便",
    }
    assert by_name(rows)["王五"]["联系电话"] == "021-****1234"
    assert by_name(rows)["王五"]["证件号码"] is None


def test_sheet_has_bold_header_frozen_text_ids_and_widths(neighbourhood, residents, head):
    sheet = load_workbook(io.BytesIO(roster_export(actor=head, user=head))).active

    assert sheet["A1"].font.b
    assert sheet.freeze_panes == "A2"
    assert (sheet["I2"].number_format, sheet["J2"].number_format) == ("@", "@")
    assert sheet.column_dimensions["I"].width == 22


def test_residents_in_order_of_building_and_room(neighbourhood, residents, head):
    names = [row[4] for row in sheet_rows(roster_export(actor=head, user=head))[1:]]

    assert names == ["张三", "李四", "王五", "Anna"]


def test_unmasked_export_by_committee_staff_is_refused(neighbourhood, residents, make_user):
    staff = make_user(Role.COMMITTEE_STAFF, neighbourhood)

    with pytest.raises(PermissionDenied):
        roster_export(actor=staff, user=staff, unmasked=True)
    assert not AuditEvent.objects.filter(action__startswith="roster.export").exists()


def test_export_by_a_volunteer_is_refused(neighbourhood, residents, make_user):
    volunteer = make_user(Role.VOLUNTEER, neighbourhood)

    with pytest.raises(PermissionDenied):
        roster_export(actor=volunteer, user=volunteer)


def test_unmasked_export_by_committee_head_is_full_and_audited(neighbourhood, residents, head):
    data = roster_export(actor=head, user=head, unmasked=True)

    rows = by_name(sheet_rows(data))
    assert (rows["张三"]["证件号码"], rows["张三"]["联系电话"]) == (ID_NUMBERS[0], "13812345678")
    assert (rows["Anna"]["证件类型"], rows["Anna"]["证件号码"]) == ("护照", "E1234567")
    event = AuditEvent.objects.get(action="roster.export_unmasked")
    assert (event.actor, event.neighbourhood_id) == (head, neighbourhood.pk)
    assert event.changes == {"count": 4, "unmasked": True, "building": None}


def test_masked_export_is_audited(neighbourhood, residents, head):
    roster_export(actor=head, user=head)

    event = AuditEvent.objects.get(action="roster.export")
    assert event.changes == {"count": 4, "unmasked": False, "building": None}
    assert ID_NUMBERS[0] not in event.object_repr


def test_building_leader_exports_only_their_building(neighbourhood, residents, building, building2, make_user):
    leader = make_user(Role.BUILDING_LEADER, building)

    names = {row[4] for row in sheet_rows(roster_export(actor=leader, user=leader))[1:]}
    elsewhere = sheet_rows(roster_export(actor=leader, user=leader, building_id=building2.pk))

    assert names == {"张三", "李四"}
    assert elsewhere[1:] == []
    assert AuditEvent.objects.filter(action="roster.export").latest("id").changes["count"] == 0


def test_export_of_one_building(neighbourhood, residents, building2, head):
    rows = sheet_rows(roster_export(actor=head, user=head, building_id=building2.pk))

    assert {row[4] for row in rows[1:]} == {"王五", "Anna"}
    assert AuditEvent.objects.get(action="roster.export").changes["building"] == building2.pk


def test_unmasked_export_imports_back_as_updates_only(neighbourhood, residents, head):
    data = roster_export(actor=head, user=head, unmasked=True)
    before = {r.pk: (r.updated_at, r.tags) for r in Resident.objects.all()}

    report = roster_import(actor=head, neighbourhood=neighbourhood, data=data, filename="导出.xlsx", commit=True)

    assert report.errors == []
    assert report.created == {"compounds": 0, "buildings": 0, "households": 0, "residents": 0}
    assert report.updated == len(residents)
    assert {r.pk: (r.updated_at, r.tags) for r in Resident.objects.all()} == before


def test_masked_export_imported_back_is_refused_with_a_reason(neighbourhood, residents, head):
    data = roster_export(actor=head, user=head)

    report = roster_import(actor=head, neighbourhood=neighbourhood, data=data, filename="导出.xlsx", commit=True)

    assert not report.committed
    assert (report.errors[0].row, report.errors[0].column) == (2, "证件号码")
    assert report.errors[0].message == "证件号码已脱敏(含*号),请使用不脱敏导出的文件或填写完整号码"
    assert report.errors[1].message == "电话号码已脱敏(含*号),请使用不脱敏导出的文件或填写完整号码"


def test_export_queries_do_not_grow_with_residents(
    neighbourhood, compound, head, make_resident, django_assert_max_num_queries
):
    for number in ("1", "2"):
        building = places_services.building_create(actor=None, compound=compound, number=number)
        for room in range(101, 111):
            household = places_services.household_create(actor=None, building=building, room=str(room))
            make_resident(household, name=f"居民{number}-{room}", tags=[Tag.PARTY_MEMBER])

    # assignments, residents with their places, their tags, the audit event
    with django_assert_max_num_queries(4):
        roster_export(actor=head, user=head)
