"""What people type, and what we make of it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from jiayuan.people import normalize


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("13812345678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("86 13812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),  # full-width digits
        ("138 1234 5678", "13812345678"),
        ("19212345678", "19212345678"),  # a newer number block, known to the library
        ("(021)64001234", "021-64001234"),
        ("021-6400 1234", "021-64001234"),
        ("02164001234", "021-64001234"),
        ("+86 21 6400 1234", "021-64001234"),
        ("010-12345678", "010-12345678"),
        ("0595-22881234", "0595-22881234"),
        ("0571 8888 8888", "0571-88888888"),
        ("64001234", "021-64001234"),  # a local landline gets the default area code
        ("+852 9123 4567", "+85291234567"),  # a Hong Kong mobile, typed with its country code
        ("", ""),
    ],
)
def test_normalize_phone(raw, clean):
    assert normalize.normalize_phone(raw) == clean


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        # A mobile number a digit or more short was once kept as a "local landline".
        ("1381234567", "手机号码应为11位(当前10位)"),
        ("13812345", "手机号码应为11位(当前8位)"),
        ("1381234", "手机号码应为11位(当前7位)"),
        ("12345", "位数不对"),
        ("1381234567899", "手机号码应为11位(当前13位)"),
        ("12812345678", "号段无效"),
        ("12012345678", "号段无效"),
        ("138abc45678", "只能包含数字"),
        ("6400123", "座机请带区号"),  # seven digits: not a Shanghai number
        ("0571-8888888", "座机请带区号"),
        ("021-6400 12345", "座机请带区号"),
        ("400-820-8820", "服务号码"),
        ("95588", "位数不对"),
        ("1" * 30, "位数不对"),
    ],
)
def test_bad_phones_get_a_chinese_reason(raw, message):
    with pytest.raises(ValidationError) as exc:
        normalize.normalize_phone(raw)
    assert message in exc.value.messages[0]


def test_the_default_area_code_is_a_setting(settings):
    settings.JIAYUAN_PHONE_AREA_CODE = "010"
    assert normalize.normalize_phone("62751234") == "010-62751234"


@given(
    st.from_regex(r"1(3[0-9]|5[0-35-9]|8[0-9])[0-9]{8}", fullmatch=True), st.sampled_from(["", "+86", "0086", "+86 "])
)
def test_any_mobile_survives_prefixes_and_separators(number, prefix):
    spaced = f"{number[:3]}-{number[3:7]} {number[7:]}"
    assert normalize.normalize_phone(prefix + spaced) == number


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.integers(min_value=1, max_value=4))
def test_a_mobile_with_digits_missing_is_never_accepted(number, missing):
    with pytest.raises(ValidationError, match="手机号码应为11位"):
        normalize.normalize_phone(number[:-missing])


@given(st.from_regex(r"[2-8][0-9]{7}", fullmatch=True))
def test_whatever_is_accepted_is_stable(local):
    """Normalising twice changes nothing (the stored value is also the lookup key)."""
    try:
        once = normalize.normalize_phone(local)
    except ValidationError:
        return
    assert normalize.normalize_phone(once) == once


def test_mainland_id_lowercase_x_and_full_width_are_accepted():
    number, birth, gender = normalize.parse_mainland_id(" ３１０１１３１９８５０６１５００２x ")
    assert number == "31011319850615002X"
    assert birth == dt.date(1985, 6, 15)
    assert gender == "F"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("31011319800101001", "应为18位"),
        ("310113198001010012", "校验位错误"),
        ("310113198013010010", "出生日期无效"),
        ("31011319800101001A", "只能包含数字"),
        ("3101131980O1010013", "只能包含数字"),
        ("99011319800101001X", "地区码无效"),
    ],
)
def test_bad_mainland_ids_get_a_chinese_reason(raw, message):
    with pytest.raises(ValidationError) as exc:
        normalize.parse_mainland_id(raw)
    assert message in exc.value.messages[0]


def test_id_with_birth_date_in_the_future_is_refused():
    from stdnum.cn import ric

    year = dt.date.today().year + 1
    base = f"310113{year}0101001"
    with pytest.raises(ValidationError) as exc:
        normalize.parse_mainland_id(base + ric.calc_check_digit(base))
    assert "未来" in exc.value.messages[0] or "无效" in exc.value.messages[0]


@pytest.mark.parametrize(
    ("raw", "number"), [("3号楼", "3"), ("3幢", "3"), ("３栋", "3"), ("12", "12"), ("第5幢", "5"), (12.0, "12")]
)
def test_building_numbers(raw, number):
    assert normalize.parse_building_number(raw) == number


@pytest.mark.parametrize(("raw", "room"), [("301室", "301"), (301.0, "301"), (" 1203 ", "1203"), ("1-301", "1-301")])
def test_rooms(raw, room):
    assert normalize.parse_room(raw) == room


def test_missing_room_and_building_are_errors():
    with pytest.raises(ValidationError, match="缺少室号"):
        normalize.parse_room("  ")
    with pytest.raises(ValidationError, match="缺少楼号"):
        normalize.parse_building_number(None)


@pytest.mark.parametrize(("room", "floor"), [("301", 3), ("1203", 12), ("1-502", 5), ("A1", None), ("12", None)])
def test_floor_of_room(room, floor):
    assert normalize.floor_of_room(room) == floor


def test_tags_from_chinese_words():
    assert normalize.parse_tags("独居老人、党员, 无智能手机") == ["elderly_alone", "party_member", "no_smartphone"]
    with pytest.raises(ValidationError, match="未知标签"):
        normalize.parse_tags("外星人")


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1980-01-31", dt.date(1980, 1, 31)),
        ("1980/1/3", dt.date(1980, 1, 3)),
        ("1980年1月3日", dt.date(1980, 1, 3)),
        ("19800103", dt.date(1980, 1, 3)),
        ("", None),
    ],
)
def test_dates(raw, value):
    assert normalize.parse_date(raw) == value


def test_impossible_date_is_an_error():
    with pytest.raises(ValidationError, match="日期不存在"):
        normalize.parse_date("1980-02-30")


@pytest.mark.parametrize(
    ("raw", "code"), [("业主", "owner"), ("租户", "tenant"), ("租客", "tenant"), ("家属", "family"), ("", "owner")]
)
def test_residency(raw, code):
    assert normalize.parse_residency(raw) == code


def test_tag_whose_label_contains_a_separator():
    assert normalize.parse_tags("透析/化疗、党员") == ["dialysis", "party_member"]
    assert normalize.parse_tags("慢病/党员") == ["chronic_illness", "party_member"]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("孙子", "grandchild"),
        ("外孙女", "grandchild"),
        ("儿媳", "in_law"),
        ("女婿", "in_law"),
        ("岳母", "in_law"),
        ("祖父", "grandparent"),
        ("外婆", "grandparent"),
        ("儿子", "child"),
        ("女儿", "child"),
        ("母亲", "parent"),
        ("妻子", "spouse"),
        ("本人", "head"),
        ("哥哥", "sibling"),
        ("邻居", "other"),
        ("", "other"),
    ],
)
def test_relation_words(raw, code):
    assert normalize.parse_relation(raw) == code


@pytest.mark.parametrize(
    ("raw", "name"),
    [("赵 小 明", "赵小明"), (" 王　芳 ", "王芳"), ("John  Smith", "John Smith"), ("阿卜杜·热合曼", "阿卜杜·热合曼")],
)
def test_names(raw, name):
    assert normalize.parse_name(raw) == name


def test_parsing_reads_chinese_labels_whatever_the_active_language():
    from django.utils import translation

    with translation.override("en"):
        assert normalize.parse_tags("党员、透析/化疗") == ["party_member", "dialysis"]
        assert normalize.parse_presence("外出") == "away"
        assert normalize.parse_residency("租户") == "tenant"


def test_birth_date_check_follows_the_clock_not_a_cached_day():
    """A date seen earlier (a frozen test clock, or yesterday before midnight) must not make
    today's newborn look born in the future."""
    import time_machine

    with time_machine.travel(dt.datetime(2012, 7, 6, 12, 0, tzinfo=dt.UTC), tick=False), pytest.raises(ValidationError):
        normalize.parse_mainland_id("310113201207070040")  # born 2012-07-07: tomorrow
    with time_machine.travel(dt.datetime(2012, 7, 7, 12, 0, tzinfo=dt.UTC), tick=False):
        assert normalize.parse_mainland_id("310113201207070040")[1] == dt.date(2012, 7, 7)
