"""Turning what people type (or paste from Excel) into clean values, with Chinese error messages.

Used by the resident form, the API and the roster importer alike, so a value accepted in one
place is accepted everywhere. Each ``parse_*`` returns the clean value or raises
``ValidationError`` with a message a committee worker can act on.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import unicodedata
from functools import lru_cache

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from stdnum import numdb
from stdnum.cn import ric

from jiayuan.people.choices import Gender, IdType, Presence, Relation, Residency, Tag

_SPACES = re.compile(r"\s+")


def clean_text(value) -> str:
    """NFKC (full-width → half-width digits and letters), trimmed, inner runs of space folded."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel hands back 301.0 for a room typed as 301
    text = unicodedata.normalize("NFKC", str(value)).replace("\u00a0", " ")
    return _SPACES.sub(" ", text).strip()


def _compact(value) -> str:
    return _SPACES.sub("", clean_text(value))


# --- ID numbers ------------------------------------------------------------------------------


def normalize_id_number(value) -> str:
    """Strip spaces, half-width, upper-case the final X."""
    return _compact(value).upper()


def parse_mainland_id(value) -> tuple[str, dt.date, str]:
    """Validate an 18-digit resident ID (checksum, birth date, region); return (number, birth date, gender).

    Not ``stdnum.cn.ric.validate``: it also requires the region code to have existed in the
    holder's birth year, but codes are assigned at registration — a resident born in 1950 in
    what became Baoshan district (310113, created 1988) rightly carries 310113 — so it rejects
    real IDs. We check that the region code is known at all, in any year.
    """
    number = normalize_id_number(value)
    if len(number) != 18:
        raise ValidationError("身份证号应为18位(当前%(n)d位)", params={"n": len(number)})
    if not number[:-1].isdigit() or not (number[-1].isdigit() or number[-1] == "X"):
        raise ValidationError("身份证号只能包含数字和末位X")
    if number[-1] != ric.calc_check_digit(number):
        raise ValidationError("身份证号校验位错误,请核对")
    try:
        # What ric.get_birth_date does, without re-compacting a number we already cleaned.
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise ValidationError("身份证号中的出生日期无效") from exc
    if birth > _today():
        raise ValidationError("身份证号中的出生日期在未来")
    if not _known_region(number[:6]):
        raise ValidationError("身份证号前6位地区码无效")
    gender = Gender.MALE if int(number[16]) % 2 else Gender.FEMALE
    return number, birth, gender


def _today() -> dt.date:
    # timezone.localdate() costs microseconds per call; an import validates 100,000 IDs. Cached per
    # wall-clock minute: the monotonic clock ignored date changes (midnight, or a test's frozen
    # date) for up to ten minutes and rejected a baby born "in the future".
    return _today_cached(int(time.time() // 60))


@lru_cache(maxsize=1)
def _today_cached(_minute: int) -> dt.date:
    return timezone.localdate()


@lru_cache(maxsize=4096)
def _known_region(code: str) -> bool:
    return any("county" in props for _part, props in numdb.get("cn/loc").info(code))


def parse_id(id_type: str, value) -> tuple[str, dt.date | None, str | None]:
    """Validate an ID of any type. Only mainland IDs carry a birth date and gender."""
    if id_type == IdType.MAINLAND:
        return parse_mainland_id(value)
    number = normalize_id_number(value)
    if not re.fullmatch(r"[A-Z0-9()\-]{5,32}", number):
        raise ValidationError("证件号码格式无效")
    return number, None, None


_ID_TYPE_WORDS = {
    "身份证": IdType.MAINLAND,
    "居民身份证": IdType.MAINLAND,
    "二代身份证": IdType.MAINLAND,
    "港澳通行证": IdType.HK_MACAO,
    "回乡证": IdType.HK_MACAO,
    "港澳居民来往内地通行证": IdType.HK_MACAO,
    "台胞证": IdType.TAIWAN,
    "台湾居民来往大陆通行证": IdType.TAIWAN,
    "护照": IdType.PASSPORT,
    "外国护照": IdType.PASSPORT,
}


def parse_id_type(value) -> str:
    text = _compact(value)
    if not text:
        return IdType.MAINLAND
    if text in IdType.values:
        return text
    for word, code in _ID_TYPE_WORDS.items():
        if word in text:
            return code
    return IdType.OTHER


# --- Phones ----------------------------------------------------------------------------------
#
# Which numbers exist is Google's libphonenumber's business (the ``phonenumbers`` package, kept
# up to date with the numbering plans), not hand-written rules: ADR 0009. We only add what it
# cannot know: a bare local number is taken in the default area code, and a bare number that
# starts with 1 is a mobile number with digits missing, never a landline.

# Area code assumed for a landline typed without one (the laptop install serves one city).
DEFAULT_AREA_CODE = "021"
_PHONE_SEPARATORS = re.compile(r"[\s\-()（）.·/]")
_PERSONAL_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
)


def _default_area_code() -> str:
    return getattr(settings, "JIAYUAN_PHONE_AREA_CODE", "") or DEFAULT_AREA_CODE


def normalize_phone(value) -> str:
    """``+86 138-1234-5678`` → ``13812345678``; ``(021)6400 1234`` → ``021-64001234``;
    ``64001234`` → ``021-64001234`` (the default area code); ``+852 9123 4567`` → ``+85291234567``.

    Raises ``ValidationError`` with a Chinese reason for anything libphonenumber does not know
    as a valid mobile or landline: ``1381234567`` (a digit short) is refused, not kept as a
    landline.
    """
    text = _compact(value)
    if not text:
        return ""
    digits = _PHONE_SEPARATORS.sub("", text)
    international = digits.startswith(("+", "00"))
    if not digits.lstrip("+").isdigit():
        raise ValidationError("电话号码只能包含数字")
    if len(digits) > 20:
        raise ValidationError("电话号码位数不对(手机11位,座机带区号)")
    if not international and digits.startswith("86") and len(digits) == 13:
        digits = "+" + digits  # 86 13812345678: the country code without its plus
        international = True
    if not international and len(digits) < 7:
        raise ValidationError("电话号码位数不对(手机11位,座机带区号)")
    if not international and digits[0] == "1" and len(digits) != 11:
        raise ValidationError("手机号码应为11位(当前%(n)d位),请核对是否少输或多输了数字", params={"n": len(digits)})
    if not international and len(digits) == 10 and digits[:3] in ("400", "800"):
        raise ValidationError("请填写手机号码或座机号码(不接受400、95等服务号码)")
    if not international and digits[0] not in "01":
        if len(digits) not in (7, 8):
            raise ValidationError("电话号码位数不对(手机11位,座机带区号)")
        digits = _default_area_code() + digits  # a local landline without its area code
    try:
        number = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException as exc:
        raise ValidationError("电话号码格式无法识别") from exc
    if not phonenumbers.is_valid_number(number):
        if not international and digits[0] == "1":
            raise ValidationError("手机号码号段无效")
        raise ValidationError("电话号码无效:手机应为11位,座机请带区号(如 021-64001234)")
    if phonenumbers.number_type(number) not in _PERSONAL_TYPES:
        raise ValidationError("请填写手机号码或座机号码(不接受400、95等服务号码)")
    if number.country_code != 86:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    national = str(number.national_number)
    if phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE:
        return national
    area = phonenumbers.length_of_geographical_area_code(number)
    if not area:
        return "0" + national
    return f"0{national[:area]}-{national[area:]}"


# --- Places ----------------------------------------------------------------------------------

_BUILDING = re.compile(r"^(?:第)?([0-9A-Za-z\-]+)\s*(?:号楼|号|幢|栋|座|楼|#)?$")
_UNIT = re.compile(r"^(?:第)?([0-9A-Za-z]+)\s*(?:单元|门|号门)?$")
_ROOM = re.compile(r"^([0-9A-Za-z\-]+)\s*(?:室|号|房)?$")


def parse_building_number(value) -> str:
    """``3号楼`` / ``3幢`` / ``3栋`` / ``3`` → ``3``."""
    text = _compact(value)
    if not text:
        raise ValidationError("缺少楼号")
    m = _BUILDING.match(text)
    if not m:
        raise ValidationError("楼号格式无法识别:%(v)s", params={"v": text})
    return m.group(1).upper()


def parse_unit(value) -> str:
    text = _compact(value)
    if not text:
        return ""
    m = _UNIT.match(text)
    if not m:
        raise ValidationError("单元格式无法识别:%(v)s", params={"v": text})
    return m.group(1).upper()


def parse_room(value) -> str:
    """``301室`` / ``301`` → ``301``; ``1-301`` stays (unit-room written together)."""
    text = _compact(value)
    if not text:
        raise ValidationError("缺少室号")
    m = _ROOM.match(text)
    if not m:
        raise ValidationError("室号格式无法识别:%(v)s", params={"v": text})
    return m.group(1).upper()


def floor_of_room(room: str) -> int | None:
    """``301`` → 3, ``1203`` → 12; None when the room number does not encode a floor."""
    digits = room.split("-")[-1]
    if digits.isdigit() and len(digits) >= 3:
        return int(digits[:-2])
    return None


def natural_key(number: str) -> int:
    m = re.match(r"\d+", number)
    return int(m.group()) if m else 0


# --- Other columns ---------------------------------------------------------------------------


_SPACE_BETWEEN_HANZI = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")


def parse_name(value) -> str:
    """``赵 小 明`` → ``赵小明`` (spaces between Chinese characters are typing slips);
    ``John  Smith`` → ``John Smith``."""
    name = _SPACE_BETWEEN_HANZI.sub("", clean_text(value))
    if not name:
        raise ValidationError("缺少姓名")
    if len(name) > 64:
        raise ValidationError("姓名过长(最多64个字)")
    return name


def parse_gender(value) -> str | None:
    text = _compact(value)
    if not text:
        return None
    if text in ("男", "M", "m", "male", "Male"):
        return Gender.MALE
    if text in ("女", "F", "f", "female", "Female"):
        return Gender.FEMALE
    raise ValidationError("性别应为“男”或“女”")


def parse_date(value) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _compact(value)
    if not text:
        return None
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text) or re.fullmatch(
        r"(\d{4})(\d{2})(\d{2})", text
    )
    if not m:
        raise ValidationError("日期格式应为 1980-01-31")
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise ValidationError("日期不存在:%(v)s", params={"v": text}) from exc


@lru_cache(maxsize=16)
def _source_labels(choices) -> dict[str, str]:
    """Label → code in Simplified Chinese, the language rosters are written in, whatever language
    the person importing has chosen for the screens (and computed once, not per cell)."""
    with translation.override("zh-hans"):
        return {str(label): code for code, label in choices.choices}


def _by_label(choices, words: dict[str, str], value, default: str | None, message: str) -> str | None:
    text = _compact(value)
    if not text:
        return default
    if text in choices.values:
        return text
    code = _source_labels(choices).get(text)
    if code is not None:
        return code
    # In the order given, which puts the specific before the general: 孙女 is a grandchild before it
    # is a 女 (child), 儿媳 an in-law before it is a 儿 (child), 岳母 an in-law before a 母 (parent).
    for word, code in words.items():
        if word in text:
            return code
    if message:
        raise ValidationError(message, params={"v": text})
    return None


_RELATION_WORDS = {
    "嫂": Relation.IN_LAW, "姐夫": Relation.IN_LAW, "妹夫": Relation.IN_LAW, "弟媳": Relation.IN_LAW,
    "侄": Relation.OTHER, "甥": Relation.OTHER, "保姆": Relation.OTHER, "租客": Relation.OTHER,
    "本人": Relation.HEAD, "户主": Relation.HEAD, "妻": Relation.SPOUSE, "夫": Relation.SPOUSE, "配偶": Relation.SPOUSE,
    "孙": Relation.GRANDCHILD, "祖": Relation.GRANDPARENT, "爷": Relation.GRANDPARENT, "奶": Relation.GRANDPARENT,
    "外公": Relation.GRANDPARENT, "外婆": Relation.GRANDPARENT, "姥": Relation.GRANDPARENT,
    "媳": Relation.IN_LAW, "婿": Relation.IN_LAW, "岳": Relation.IN_LAW,
    "公公": Relation.IN_LAW, "婆婆": Relation.IN_LAW,
    "兄": Relation.SIBLING, "弟": Relation.SIBLING, "姐": Relation.SIBLING, "妹": Relation.SIBLING,
    "哥": Relation.SIBLING,
    "子": Relation.CHILD, "女": Relation.CHILD, "儿": Relation.CHILD, "父": Relation.PARENT, "母": Relation.PARENT,
}  # fmt: skip
_RESIDENCY_WORDS = {
    "业主": Residency.OWNER,
    "产权": Residency.OWNER,
    "房东": Residency.OWNER,
    "户籍": Residency.OWNER,
    "租": Residency.TENANT,
    "承租": Residency.TENANT,
    "来沪": Residency.TENANT,
    "家属": Residency.FAMILY,
    "家庭成员": Residency.FAMILY,
    "亲属": Residency.FAMILY,
}
_PRESENCE_WORDS = {
    "在住": Presence.PRESENT,
    "在家": Presence.PRESENT,
    "外出": Presence.AWAY,
    "未返": Presence.NOT_RETURNED,
    "迁出": Presence.MOVED_OUT,
    "搬离": Presence.MOVED_OUT,
    "住院": Presence.HOSPITALISED,
    "集中隔离": Presence.CENTRAL_QUARANTINE,
    "隔离点": Presence.CENTRAL_QUARANTINE,
}


def parse_relation(value) -> str:
    return _by_label(Relation, _RELATION_WORDS, value, Relation.OTHER, "") or Relation.OTHER


def parse_residency(value) -> str:
    return _by_label(Residency, _RESIDENCY_WORDS, value, Residency.OWNER, "") or Residency.OTHER


def parse_presence(value) -> str:
    result = _by_label(Presence, _PRESENCE_WORDS, value, Presence.PRESENT, "在住状态无法识别:%(v)s")
    return result or Presence.PRESENT


_TAG_SPLIT = re.compile(r"[,，、;；/\s]+")


def parse_tags(value) -> list[str]:
    """``独居老人、党员`` → ``["elderly_alone", "party_member"]``. Unknown words are an error."""
    text = clean_text(value)
    if not text:
        return []
    labels = _source_labels(Tag)
    # Labels that contain a separator ("透析/化疗") are replaced by their code before splitting.
    for label, code in labels.items():
        if _TAG_SPLIT.search(label):
            text = text.replace(label, f" {code} ")
    result: list[str] = []
    for word in filter(None, _TAG_SPLIT.split(text)):
        code = word if word in Tag.values else labels.get(word)
        if code is None:
            raise ValidationError("未知标签:%(v)s", params={"v": word})
        if code not in result:
            result.append(code)
    return result
