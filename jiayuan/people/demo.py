"""The demo neighbourhood behind ``jiayuan demo``: places, ~3,600 residents, one login per role.

The data is made up but shaped like the neighbourhood in the first report (泰禾红御, 高境镇,
宝山区): two compounds, ~25 buildings, ~1,300 households of couples, families with children,
three generations under one roof, elderly couples, elderly living alone and tenants sharing a
flat, each resident with a valid mainland ID number, most adults with a mobile phone, and the
tags the committee works from (独居老人, 卧床, 无智能手机, 孕妇, 婴幼儿 …).

``demo_plan`` is pure: the same seed and day give the same people. Ages are counted back from
the day of loading, so a baby tagged 婴幼儿 is a baby on the day the demo is shown.
``demo_load`` writes the plan with bulk inserts (a few seconds on SQLite) and makes sure the demo
logins exist; it refuses to touch a database that holds a real neighbourhood.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from stdnum.cn import ric

from jiayuan.accounts.models import ScopeLevel, User
from jiayuan.accounts.services import assignment_grant
from jiayuan.core.audit import audit_record
from jiayuan.core.permissions import Role
from jiayuan.people import normalize
from jiayuan.people.choices import Gender, IdType, Presence, Relation, Residency, Tag
from jiayuan.people.models import Resident, ResidentTag
from jiayuan.people.services import resident_apply_identity
from jiayuan.places import services as places_services
from jiayuan.places.models import Building, Compound, Household, Neighbourhood, Street

__all__ = [
    "DEMO_ACCOUNTS",
    "DEMO_CODE",
    "DEMO_PASSWORD",
    "BuildingPlan",
    "CompoundPlan",
    "DemoAccount",
    "DemoRefusedError",
    "DemoResult",
    "HouseholdPlan",
    "PersonPlan",
    "demo_load",
    "demo_plan",
    "demo_report",
]

# 28 March 2022, the day Shanghai's lockdown began: any fixed number would do.
SEED = 20220328
DEMO_CODE = "DEMO"
DEMO_NAME = "泰和红御居民区"
# Printed by the command and in the README on purpose; demo_load refuses real databases.
DEMO_PASSWORD = "jiayuan2026"  # noqa: S105
STREET_CODE = "GJ"
STREET_NAME = "高境镇"
HOUSEHOLDS = 1300

MSG_REFUSED = (
    "数据库中已有正式居民区({codes}),演示数据只能装入空数据库或只有演示数据的数据库,未写入任何内容。\n"
    "The database holds real (non-demo) neighbourhoods ({codes}); the demo loads only into an empty "
    "or demo-only database. Nothing was written."
)


class DemoRefusedError(Exception):
    """The database holds real data, so the demo must not be loaded into it."""


# --- Plan: plain data, no database --------------------------------------------------------------


@dataclass
class PersonPlan:
    """One resident to create."""

    surname: str
    name: str
    gender: str
    age: int
    birth_date: dt.date
    id_number: str
    phone: str
    relation: str
    residency: str
    presence: str = Presence.PRESENT
    tags: set[str] = field(default_factory=set)


@dataclass
class HouseholdPlan:
    """One occupied flat and the people living in it."""

    unit: str
    room: str
    residents: list[PersonPlan]


@dataclass
class BuildingPlan:
    """One building; ``households`` holds only the occupied flats."""

    number: str
    units: int
    floors: int
    households: list[HouseholdPlan] = field(default_factory=list)


@dataclass
class CompoundPlan:
    """One compound and its buildings."""

    name: str
    buildings: list[BuildingPlan]


@dataclass(frozen=True)
class _CompoundStyle:
    """How a compound was built: the choices its buildings are drawn from."""

    name: str
    numbers: range
    floors: tuple[int, ...]
    units: tuple[int, ...]
    flats_per_floor: tuple[int, ...]  # per unit


# Building numbers run on across the neighbourhood, so "3号楼" is unambiguous without the compound.
_COMPOUNDS = (
    # Walk-ups and mid-rises from around 2000.
    _CompoundStyle("泰和苑", range(1, 14), floors=(6, 6, 6, 6, 7, 11, 12), units=(2, 3, 3), flats_per_floor=(2,)),
    # High-rises from around 2010.
    _CompoundStyle("红御苑", range(14, 26), floors=(11, 14, 16, 17, 18), units=(1, 2, 2), flats_per_floor=(2, 3, 4)),
)

# Common surnames, weighted roughly by frequency, with the ones more common in Shanghai
# (沈 陆 顾 钱 施 姚 …) weighted up.
_SURNAME_WEIGHTS = {
    "王": 71, "李": 70, "张": 67, "刘": 54, "陈": 45, "杨": 31, "黄": 22, "赵": 20, "吴": 20, "周": 19,
    "徐": 15, "孙": 15, "马": 12, "朱": 12, "胡": 11, "郭": 11, "何": 9, "林": 9, "罗": 8, "高": 9,
    "郑": 8, "梁": 7, "谢": 6, "宋": 5, "唐": 5, "许": 5, "韩": 5, "冯": 5, "邓": 5, "曹": 4,
    "彭": 4, "曾": 4, "肖": 4, "田": 4, "董": 4, "袁": 3, "潘": 3, "于": 3, "蒋": 3, "蔡": 3,
    "余": 3, "杜": 3, "叶": 3, "程": 3, "苏": 3, "魏": 3, "吕": 3, "丁": 3, "任": 3, "沈": 6,
    "陆": 5, "顾": 5, "钱": 3, "施": 3, "姚": 3, "金": 3, "倪": 2, "俞": 2, "汪": 3, "范": 2,
    "严": 2, "龚": 2, "夏": 2, "葛": 2, "欧阳": 1,
}  # fmt: skip
_SURNAMES = tuple(_SURNAME_WEIGHTS)
_SURNAME_CUM_WEIGHTS = tuple(itertools.accumulate(_SURNAME_WEIGHTS.values()))


@dataclass(frozen=True)
class _GivenNames:
    """Characters for given names of one generation and gender: first and second position."""

    firsts: str
    seconds: str
    single_rate: float  # share of one-character given names


# Given names follow fashion: 建国 and 秀英 for those born before 1960, 伟 and 丽 in the
# 1960s-70s, 杰 and 婷 in the 1980s-90s, 子轩 and 梓涵 since 2000.
_GIVEN_NAMES = {
    ("old", Gender.MALE): _GivenNames("国建德永志金根福荣家", "华明福宝荣祥兴林生忠庆海龙富才发良昌康鸿", 0.15),
    ("old", Gender.FEMALE): _GivenNames("秀桂玉凤美素惠彩月金", "英兰珍芳娟妹琴萍华娣珠梅菊宝", 0.15),
    ("mid", Gender.MALE): _GivenNames("建卫志国海红晓新春伟", "国华军东刚强峰平明宏杰民勇斌", 0.3),
    ("mid", Gender.FEMALE): _GivenNames("丽红海美秀建晓玉慧雪", "华英梅燕萍玲芳琴娟霞红敏丽", 0.3),
    ("young", Gender.MALE): _GivenNames("晓俊文志嘉佳家天宏", "杰涛鹏超浩宇晨伟峰亮斌辉凯健毅翔飞波磊", 0.35),
    ("young", Gender.FEMALE): _GivenNames("晓佳婷丽雪静思梦欣", "婷丹倩洁琳雪颖晶莉燕娜怡雯蕾露瑶璐艳", 0.35),
    ("new", Gender.MALE): _GivenNames("子浩宇梓俊一皓奕沐思博嘉泽", "轩豪熙诺航然墨阳辰睿文远铭宸骏", 0.1),
    ("new", Gender.FEMALE): _GivenNames("子欣梓诗雨可语依思若一佳", "涵怡桐馨嫣萱彤汐妍琪乐悦诺", 0.1),
}

# Where ID numbers were issued. Owners are mostly registered in Shanghai, above all in Baoshan;
# tenants mostly come from the provinces around it. A code that did not exist in a resident's
# birth year fails the ID check (python-stdnum) and is drawn again, which is why elderly owners
# end up with the old urban districts (闸北, 虹口, 杨浦 …) they moved here from.
_SHANGHAI_REGIONS = {
    "310113": 45, "310109": 8, "310110": 8, "310108": 8, "310107": 5, "310101": 3, "310104": 3,
    "310105": 2, "310106": 2, "310103": 2, "310112": 2, "310115": 3, "310114": 2,
}  # fmt: skip
_OTHER_REGIONS = {
    "320923": 3, "320321": 2, "320324": 2, "320681": 2, "320826": 2, "340822": 3, "340826": 2,
    "340121": 2, "340421": 2, "341221": 3, "341226": 2, "342422": 2, "411525": 3, "412726": 2,
    "410526": 2, "360121": 2, "362427": 2, "430524": 2, "510321": 2, "510322": 2, "330381": 1,
    "370883": 1, "420281": 1,
}  # fmt: skip

_MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "157", "158", "159", "180", "181", "182", "183", "184", "185", "186", "187", "188",
    "189", "191", "193", "195", "198", "199",
)  # fmt: skip


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def _generation(birth_year: int) -> str:
    if birth_year < 1960:
        return "old"
    if birth_year < 1980:
        return "mid"
    if birth_year < 2000:
        return "young"
    return "new"


def _opposite(gender: str) -> str:
    return Gender.FEMALE if gender == Gender.MALE else Gender.MALE


class _People:
    """Draws residents and households from one ``random.Random``, keeping IDs and phones unique."""

    def __init__(self, rng: random.Random, id_rng: random.Random, today: dt.date) -> None:
        self.rng = rng
        self.id_rng = id_rng
        self.today = today
        self._id_numbers: set[str] = set()
        self._phones: set[str] = set()
        # Weights in per cent of households; they give ~2.8 residents a household, ~15% of them
        # tenants and about a quarter aged 60 or more.
        self._kinds: tuple[tuple[Callable[[], list[PersonPlan]], int], ...] = (
            (self.young_couple, 8),
            (self.family_with_children, 20),
            (self.three_generations, 15),
            (self.parents_with_grown_child, 9),
            (self.single_parent, 3),
            (self.elderly_couple, 15),
            (self.elderly_alone, 8),
            (self.elderly_with_carer_child, 3),
            (self.single_adult, 5),
            (self.tenants_sharing, 7),
            (self.tenant_family, 7),
        )

    # --- one person ----------------------------------------------------------------------

    def surname(self) -> str:
        return self.rng.choices(_SURNAMES, cum_weights=_SURNAME_CUM_WEIGHTS)[0]

    def given_name(self, birth_year: int, gender: str) -> str:
        pool = _GIVEN_NAMES[(_generation(birth_year), gender)]
        if self.rng.random() < pool.single_rate:
            return self.rng.choice(pool.seconds)
        first = self.rng.choice(pool.firsts)
        return first + self.rng.choice(pool.seconds.replace(first, ""))  # no 福福 or 国国

    def id_number(self, birth: dt.date, gender: str, residency: str) -> str:
        """A valid, unused 18-digit ID: region, birth date, sequence (odd for men), check digit."""
        rng = self.id_rng
        local = rng.random() < (0.85 if residency != Residency.TENANT else 0.15)
        regions = _SHANGHAI_REGIONS if local else _OTHER_REGIONS
        while True:
            region = rng.choices(tuple(regions), weights=tuple(regions.values()))[0]
            sequence = rng.randrange(500) * 2 + (1 if gender == Gender.MALE else 0)
            body = f"{region}{birth:%Y%m%d}{sequence:03d}"
            number = body + ric.calc_check_digit(body + "0")  # stdnum ignores the last digit passed
            if number not in self._id_numbers and ric.is_valid(number):
                self._id_numbers.add(number)
                return number

    def mobile(self) -> str:
        while True:
            number = self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self._phones:
                self._phones.add(number)
                return number

    def person(self, *, age: int, gender: str, relation: str, residency: str, surname: str | None = None) -> PersonPlan:
        """One resident with the tags that follow from age and chance (not from the household)."""
        rng = self.rng
        birth = _years_before(self.today, age) - dt.timedelta(days=rng.randrange(365))
        tags: set[str] = set()
        if age < 3:
            tags.add(Tag.INFANT)
        if age >= 50 and rng.random() < (0.15 if age < 60 else 0.3 if age < 70 else 0.45):
            tags.add(Tag.CHRONIC_ILLNESS)
        if age >= 40 and rng.random() < 0.012:
            tags.add(Tag.DIALYSIS)
        if rng.random() < (0.04 if age >= 70 else 0.012):
            tags.add(Tag.DISABLED)
        if age >= 70 and rng.random() < (0.1 if age >= 80 else 0.03):
            tags.add(Tag.BEDRIDDEN)
        if age >= 65 and (Tag.BEDRIDDEN in tags or rng.random() < (0.8 if age >= 85 else 0.55 if age >= 75 else 0.15)):
            tags.add(Tag.NO_SMARTPHONE)
        if age >= 18 and rng.random() < (0.12 if age >= 60 else 0.06):
            tags.add(Tag.PARTY_MEMBER)

        if age < 16:
            phone = ""
        elif Tag.NO_SMARTPHONE in tags:
            # Some keep a basic phone (老人机); the rest are reached through family or the building leader.
            phone = self.mobile() if rng.random() < 0.4 else ""
        else:
            phone = self.mobile() if rng.random() < 0.97 else ""

        surname = surname or self.surname()
        return PersonPlan(
            surname=surname,
            # The nominal birth year, not the exact one: the same people all calendar year.
            name=surname + self.given_name(self.today.year - age, gender),
            gender=gender,
            age=age,
            birth_date=birth,
            id_number=self.id_number(birth, gender, residency),
            phone=phone,
            relation=relation,
            residency=residency,
            tags=tags,
        )

    # --- households ----------------------------------------------------------------------

    def household(self) -> list[PersonPlan]:
        """Draw one household's composition, then where each member is today."""
        make = self.rng.choices([k for k, _ in self._kinds], weights=[w for _, w in self._kinds])[0]
        members = make()
        self._set_presence(members)
        return members

    def _set_presence(self, members: list[PersonPlan]) -> None:
        rng = self.rng
        tenants = members[0].residency == Residency.TENANT
        # Whole households went home for the Spring Festival and could not come back; tenants more often.
        if rng.random() < (0.08 if tenants else 0.02):
            for p in members:
                p.presence = Presence.NOT_RETURNED
            return
        for p in members:
            r = rng.random()
            if (Tag.DIALYSIS in p.tags and r < 0.25) or (p.age >= 70 and r < 0.03):
                p.presence = Presence.HOSPITALISED
            elif r < 0.015:
                p.presence = Presence.CENTRAL_QUARANTINE
            elif 18 <= p.age < 65 and r < 0.045:
                p.presence = Presence.AWAY  # sealed in at the workplace or stuck elsewhere in the city

    def _couple(self, head_age: int, residency: str) -> tuple[PersonPlan, PersonPlan]:
        """Head and spouse; the husband is usually the older and usually registered as head."""
        rng = self.rng
        head_gender = Gender.MALE if rng.random() < 0.7 else Gender.FEMALE
        gap = rng.randint(-2, 5)  # husband minus wife
        spouse_age = head_age - gap if head_gender == Gender.MALE else head_age + gap
        head = self.person(age=head_age, gender=head_gender, relation=Relation.HEAD, residency=residency)
        spouse = self.person(
            age=max(spouse_age, 20),
            gender=_opposite(head_gender),
            relation=Relation.SPOUSE,
            residency=residency,
        )
        return head, spouse

    def _children(
        self,
        husband: PersonPlan,
        wife: PersonPlan,
        *,
        count: int,
        relation: str,
        residency: str,
        min_age: int = 0,
    ) -> list[PersonPlan]:
        """Children of a couple, born when the mother was 22-40, named after the father."""
        youngest = max(min_age, wife.age - 40)
        oldest = max(youngest, wife.age - 22)
        return [
            self.person(
                age=self.rng.randint(youngest, oldest),
                gender=self.rng.choice((Gender.MALE, Gender.FEMALE)),
                relation=relation,
                residency=residency,
                surname=husband.surname,
            )
            for _ in range(count)
        ]

    @staticmethod
    def _husband_wife(a: PersonPlan, b: PersonPlan) -> tuple[PersonPlan, PersonPlan]:
        return (a, b) if a.gender == Gender.MALE else (b, a)

    def _maybe_pregnant(self, woman: PersonPlan, others: list[PersonPlan]) -> None:
        if 23 <= woman.age <= 40 and not any(Tag.INFANT in p.tags for p in others) and self.rng.random() < 0.1:
            woman.tags.add(Tag.PREGNANT)

    def young_couple(self) -> list[PersonPlan]:
        residency = Residency.TENANT if self.rng.random() < 0.2 else Residency.OWNER
        head, spouse = self._couple(self.rng.randint(25, 38), residency)
        _, wife = self._husband_wife(head, spouse)
        self._maybe_pregnant(wife, [])
        return [head, spouse]

    def family_with_children(self) -> list[PersonPlan]:
        head, spouse = self._couple(self.rng.randint(30, 50), Residency.OWNER)
        husband, wife = self._husband_wife(head, spouse)
        count = 1 if self.rng.random() < 0.7 else 2
        children = self._children(husband, wife, count=count, relation=Relation.CHILD, residency=Residency.FAMILY)
        self._maybe_pregnant(wife, children)
        return [head, spouse, *children]

    def three_generations(self) -> list[PersonPlan]:
        """A couple, their young children and one or two grandparents who look after them."""
        rng = self.rng
        head, spouse = self._couple(rng.randint(30, 45), Residency.OWNER)
        husband, wife = self._husband_wife(head, spouse)
        children = self._children(
            husband,
            wife,
            count=1 if rng.random() < 0.6 else 2,
            relation=Relation.CHILD,
            residency=Residency.FAMILY,
        )
        grandfather_age = head.age + rng.randint(25, 33)
        grandparents = []
        if rng.random() < 0.6:
            grandparents.append(
                self.person(
                    age=grandfather_age,
                    gender=Gender.MALE,
                    relation=Relation.PARENT,
                    residency=Residency.FAMILY,
                    surname=head.surname,
                )
            )
        if not grandparents or rng.random() < 0.85:
            grandparents.append(
                self.person(
                    age=grandfather_age - rng.randint(-1, 4),
                    gender=Gender.FEMALE,
                    relation=Relation.PARENT,
                    residency=Residency.FAMILY,
                )
            )
        return [head, spouse, *children, *grandparents]

    def parents_with_grown_child(self) -> list[PersonPlan]:
        """An older couple with a grown child, sometimes with the child's own spouse and baby."""
        rng = self.rng
        head, spouse = self._couple(rng.randint(50, 66), Residency.OWNER)
        husband, wife = self._husband_wife(head, spouse)
        (child,) = self._children(
            husband, wife, count=1, relation=Relation.CHILD, residency=Residency.FAMILY, min_age=20
        )
        members = [head, spouse, child]
        if child.age >= 25 and rng.random() < 0.4:
            in_law = self.person(
                age=max(22, child.age + rng.randint(-4, 4)),
                gender=_opposite(child.gender),
                relation=Relation.IN_LAW,
                residency=Residency.FAMILY,
            )
            members.append(in_law)
            young_husband, young_wife = self._husband_wife(child, in_law)
            if rng.random() < 0.5:
                members += self._children(
                    young_husband,
                    young_wife,
                    count=1,
                    relation=Relation.GRANDCHILD,
                    residency=Residency.FAMILY,
                )
            else:
                self._maybe_pregnant(young_wife, [])
        return members

    def single_parent(self) -> list[PersonPlan]:
        rng = self.rng
        head = self.person(
            age=rng.randint(32, 52),
            gender=Gender.FEMALE if rng.random() < 0.75 else Gender.MALE,
            relation=Relation.HEAD,
            residency=Residency.OWNER,
        )
        child = self.person(
            age=rng.randint(3, min(18, head.age - 22)),
            gender=rng.choice((Gender.MALE, Gender.FEMALE)),
            relation=Relation.CHILD,
            residency=Residency.FAMILY,
            surname=head.surname,
        )
        return [head, child]

    def elderly_couple(self) -> list[PersonPlan]:
        """Both over 60, children moved out: empty-nest (空巢) elderly."""
        head, spouse = self._couple(self.rng.randint(62, 90), Residency.OWNER)
        for p in (head, spouse):
            if p.age >= 60:
                p.tags.add(Tag.EMPTY_NEST)
        return [head, spouse]

    def elderly_alone(self) -> list[PersonPlan]:
        """Mostly widows; one in five has no family at all (孤寡)."""
        rng = self.rng
        elder = self.person(
            age=rng.randint(65, 96),
            gender=Gender.FEMALE if rng.random() < 0.65 else Gender.MALE,
            relation=Relation.HEAD,
            residency=Residency.OWNER,
        )
        elder.tags.add(Tag.ELDERLY_ALONE)
        if rng.random() < 0.2:
            elder.tags.add(Tag.ELDERLY_NO_FAMILY)
        return [elder]

    def elderly_with_carer_child(self) -> list[PersonPlan]:
        """A very old parent and the unmarried or divorced child who lives with them."""
        rng = self.rng
        elder = self.person(
            age=rng.randint(78, 97),
            gender=Gender.FEMALE if rng.random() < 0.65 else Gender.MALE,
            relation=Relation.HEAD,
            residency=Residency.OWNER,
        )
        child = self.person(
            age=elder.age - rng.randint(24, 36),
            gender=rng.choice((Gender.MALE, Gender.FEMALE)),
            relation=Relation.CHILD,
            residency=Residency.FAMILY,
            # A widow's child carries the late husband's surname, not hers.
            surname=elder.surname if elder.gender == Gender.MALE else None,
        )
        return [elder, child]

    def single_adult(self) -> list[PersonPlan]:
        rng = self.rng
        residency = Residency.TENANT if rng.random() < 0.3 else Residency.OWNER
        return [
            self.person(
                age=rng.randint(22, 58),
                gender=rng.choice((Gender.MALE, Gender.FEMALE)),
                relation=Relation.HEAD,
                residency=residency,
            )
        ]

    def tenants_sharing(self) -> list[PersonPlan]:
        """Two to four young workers renting a flat together, usually of one sex."""
        rng = self.rng
        gender = rng.choice((Gender.MALE, Gender.FEMALE))
        mixed = rng.random() < 0.3
        return [
            self.person(
                age=rng.randint(20, 38),
                gender=rng.choice((Gender.MALE, Gender.FEMALE)) if mixed else gender,
                relation=Relation.HEAD if i == 0 else Relation.OTHER,
                residency=Residency.TENANT,
            )
            for i in range(rng.choice((2, 2, 3, 3, 4)))
        ]

    def tenant_family(self) -> list[PersonPlan]:
        rng = self.rng
        head, spouse = self._couple(rng.randint(25, 42), Residency.TENANT)
        if rng.random() < 0.5:
            return [head, spouse]
        husband, wife = self._husband_wife(head, spouse)
        return [
            head,
            spouse,
            *self._children(husband, wife, count=1, relation=Relation.CHILD, residency=Residency.TENANT),
        ]


Flat = tuple[BuildingPlan, str, str]  # building, unit, room


def _buildings(rng: random.Random) -> tuple[list[CompoundPlan], list[Flat]]:
    """The compounds' buildings and every flat in them; ``301`` is the first flat on the third floor.

    Drawn again until the households fill 80-95% of the flats, so another seed cannot give a
    neighbourhood too small for them or half empty.
    """
    while True:
        compounds: list[CompoundPlan] = []
        flats: list[Flat] = []
        for style in _COMPOUNDS:
            buildings: list[BuildingPlan] = []
            for n in style.numbers:
                building = BuildingPlan(number=str(n), units=rng.choice(style.units), floors=rng.choice(style.floors))
                per_floor = rng.choice(style.flats_per_floor)
                # A one-entrance building has no unit in its addresses.
                units = [str(u) for u in range(1, building.units + 1)] if building.units > 1 else [""]
                flats += [
                    (building, unit, f"{floor}{flat:02d}")
                    for unit in units
                    for floor in range(1, building.floors + 1)
                    for flat in range(1, per_floor + 1)
                ]
                buildings.append(building)
            compounds.append(CompoundPlan(name=style.name, buildings=buildings))
        if 0.8 <= HOUSEHOLDS / len(flats) <= 0.95:
            return compounds, flats


def _appoint_building_leader(rng: random.Random, building: BuildingPlan) -> None:
    """Tag one resident 楼组长: a middle-aged or retired resident at home, often a party member."""
    people = [p for h in building.households for p in h.residents]
    candidates = [p for p in people if 40 <= p.age <= 72 and p.presence == Presence.PRESENT] or [
        p for p in people if p.age >= 18
    ]
    party = [p for p in candidates if Tag.PARTY_MEMBER in p.tags]
    rng.choice(party if party and rng.random() < 0.6 else candidates).tags.add(Tag.BUILDING_LEADER)


def demo_plan(*, today: dt.date, seed: int = SEED) -> list[CompoundPlan]:
    """The whole demo neighbourhood as plain data.

    The same seed gives the same households and people (names, ages, tags) all calendar year;
    the same day also gives the same birth dates and ID numbers.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible made-up data, not a secret
    # ID numbers draw from a stream of their own: how many draws a valid one takes depends on the
    # birth year, hence on the day of loading, and must not change everyone drawn after it.
    id_rng = random.Random(rng.getrandbits(64))  # noqa: S311
    compounds, flats = _buildings(rng)
    people = _People(rng, id_rng, today)
    # Not every flat is lived in: some are kept as an investment, some are for sale.
    for index in sorted(rng.sample(range(len(flats)), HOUSEHOLDS)):
        building, unit, room = flats[index]
        building.households.append(HouseholdPlan(unit=unit, room=room, residents=people.household()))
    for compound in compounds:
        for building in compound.buildings:
            _appoint_building_leader(rng, building)
    return compounds


# --- Accounts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoAccount:
    """One demo login: a role over the neighbourhood, the street, the first compound or buildings."""

    username: str
    display_name: str
    role: str
    level: str
    buildings: tuple[str, ...] = ()


DEMO_ACCOUNTS = (
    DemoAccount("head", "王书记", Role.COMMITTEE_HEAD, ScopeLevel.NEIGHBOURHOOD),
    DemoAccount("staff", "李社工", Role.COMMITTEE_STAFF, ScopeLevel.NEIGHBOURHOOD),
    DemoAccount("owners", "张主任", Role.OWNERS_COMMITTEE, ScopeLevel.NEIGHBOURHOOD),
    DemoAccount("property", "刘经理", Role.PROPERTY_STAFF, ScopeLevel.NEIGHBOURHOOD),
    DemoAccount("guard", "陈师傅", Role.GATE_GUARD, ScopeLevel.COMPOUND),
    DemoAccount("leader", "杨阿姨", Role.BUILDING_LEADER, ScopeLevel.BUILDING, ("1", "2")),
    DemoAccount("volunteer", "小赵", Role.VOLUNTEER, ScopeLevel.BUILDING, ("3", "4")),
    DemoAccount("sampler", "吴医生", Role.SAMPLER, ScopeLevel.NEIGHBOURHOOD),
    DemoAccount("street", "周科长", Role.STREET_OFFICER, ScopeLevel.STREET),
)


Scope = Street | Neighbourhood | Compound | Building


def _scopes(account: DemoAccount, neighbourhood: Neighbourhood) -> list[Scope]:
    if account.level == ScopeLevel.STREET:
        return [neighbourhood.street]
    if account.level == ScopeLevel.NEIGHBOURHOOD:
        return [neighbourhood]
    if account.level == ScopeLevel.COMPOUND:
        return [Compound.objects.filter(neighbourhood=neighbourhood).order_by("pk").first()]
    return list(Building.objects.filter(neighbourhood=neighbourhood, number__in=account.buildings).order_by("sort_key"))


def _ensure_accounts(neighbourhood: Neighbourhood) -> list[tuple[DemoAccount, list[Scope]]]:
    """Create the demo logins, or reset them to the documented password, and grant their roles."""
    result = []
    for account in DEMO_ACCOUNTS:
        user = User.objects.filter(username=account.username).first()
        if user is None:
            user = User.objects.create_user(
                username=account.username, password=DEMO_PASSWORD, display_name=account.display_name
            )
        else:
            user.set_password(DEMO_PASSWORD)
            user.display_name = account.display_name
            user.is_active = True
            user.save(update_fields=["password", "display_name", "is_active"])
        scopes = _scopes(account, neighbourhood)
        for scope in scopes:
            assignment_grant(actor=None, user=user, role=account.role, scope=scope)
        result.append((account, scopes))
    return result


# --- Writing ------------------------------------------------------------------------------------


def _write_plan(plan: list[CompoundPlan]) -> Neighbourhood:
    """Insert the plan: the street, neighbourhood and compounds through their services, the
    rest in bulk (one audit event per resident would be 3,600 rows saying nothing)."""
    street = Street.objects.filter(code=STREET_CODE).first() or places_services.street_create(
        actor=None, code=STREET_CODE, name=STREET_NAME
    )
    neighbourhood = places_services.neighbourhood_create(
        actor=None, street=street, code=DEMO_CODE, name=DEMO_NAME, is_demo=True
    )
    building_plans: list[BuildingPlan] = []
    building_rows: list[Building] = []
    for compound_plan in plan:
        compound = places_services.compound_create(actor=None, neighbourhood=neighbourhood, name=compound_plan.name)
        for b in compound_plan.buildings:
            building_plans.append(b)
            building_rows.append(
                Building(
                    neighbourhood=neighbourhood,
                    compound=compound,
                    number=b.number,
                    name=places_services.building_name(b.number),
                    units=b.units,
                    floors=b.floors,
                    sort_key=normalize.natural_key(b.number),
                )
            )
    Building.objects.bulk_create(building_rows)

    household_plans: list[HouseholdPlan] = []
    household_rows: list[Household] = []
    for building, b in zip(building_rows, building_plans, strict=True):
        for h in b.households:
            household_plans.append(h)
            household_rows.append(
                Household(
                    neighbourhood=neighbourhood,
                    building=building,
                    unit=h.unit,
                    room=h.room,
                    floor=normalize.floor_of_room(h.room),
                )
            )
    Household.objects.bulk_create(household_rows)

    person_plans: list[PersonPlan] = []
    resident_rows: list[Resident] = []
    for household, h in zip(household_rows, household_plans, strict=True):
        for p in h.residents:
            resident = Resident(
                neighbourhood=neighbourhood,
                household=household,
                name=p.name,
                gender=p.gender,
                birth_date=p.birth_date,
                relation_to_head=p.relation,
                residency=p.residency,
                presence=p.presence,
            )
            # Same validation and keyed hashes as every other way in; it also cross-checks the
            # planned birth date and gender against the ID number.
            resident_apply_identity(resident, id_type=IdType.MAINLAND, id_number=p.id_number, phone=p.phone)
            person_plans.append(p)
            resident_rows.append(resident)
    Resident.objects.bulk_create(resident_rows)
    ResidentTag.objects.bulk_create(
        ResidentTag(resident=resident, tag=tag)
        for resident, p in zip(resident_rows, person_plans, strict=True)
        for tag in sorted(p.tags)
    )
    return neighbourhood


@dataclass(frozen=True)
class DemoResult:
    """What ``demo_load`` found or made."""

    created: bool  # False: the demo neighbourhood was already there and its data left as it was
    compounds: int
    buildings: int
    households: int
    residents: int


def demo_load(*, stdout: io.TextIOBase | None = None) -> DemoResult:
    """Load the demo neighbourhood once, make sure the demo logins work, print them to ``stdout``.

    Raises ``DemoRefusedError`` (writing nothing) when the database holds a neighbourhood that
    is not demo data: the demo logins' fixed password must never reach a real deployment.
    """
    with transaction.atomic():
        real = list(Neighbourhood.objects.filter(is_demo=False).order_by("code").values_list("code", flat=True))
        if real:
            raise DemoRefusedError(MSG_REFUSED.format(codes=", ".join(real)))
        neighbourhood = Neighbourhood.objects.select_related("street").filter(code=DEMO_CODE).first()
        created = neighbourhood is None
        if neighbourhood is None:
            neighbourhood = _write_plan(demo_plan(today=timezone.localdate()))
        accounts = _ensure_accounts(neighbourhood)
        result = DemoResult(
            created=created,
            compounds=Compound.objects.filter(neighbourhood=neighbourhood).count(),
            buildings=Building.objects.filter(neighbourhood=neighbourhood).count(),
            households=Household.objects.filter(neighbourhood=neighbourhood).count(),
            residents=Resident.objects.filter(neighbourhood=neighbourhood).count(),
        )
        # Also on a repeat run: the demo logins' passwords were just reset.
        audit_record(
            actor=None,
            action="demo.load",
            obj=neighbourhood,
            neighbourhood_id=neighbourhood.pk,
            changes={
                "created": created,
                "compounds": result.compounds,
                "buildings": result.buildings,
                "households": result.households,
                "residents": result.residents,
                "accounts": [a.username for a in DEMO_ACCOUNTS],
            },
        )
    if stdout is not None:
        stdout.write(demo_report(neighbourhood, result, accounts))
    return result


# --- Report -------------------------------------------------------------------------------------


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _table(rows: list[list[str]]) -> str:
    """A Markdown table padded so it also lines up in a terminal (the README shows the same)."""
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(row: list[str]) -> str:
        return "| " + " | ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)) + " |"

    return "\n".join([line(rows[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows[1:])])


def _scope_label(scopes: list[Scope]) -> str:
    return "、".join(s.name for s in scopes)


def demo_report(
    neighbourhood: Neighbourhood, result: DemoResult, accounts: list[tuple[DemoAccount, list[Scope]]]
) -> str:
    """The counts and the login table ``jiayuan demo`` prints."""
    status = (
        "已装入 loaded"
        if result.created
        else "已存在:数据未改动,演示账号已重置 already there: data unchanged, demo logins reset"
    )
    counts = (
        f"演示居民区 Demo neighbourhood: {neighbourhood.name} ({neighbourhood.code}) - {status}\n"
        f"  {result.compounds} 个小区 compounds, {result.buildings} 栋楼 buildings, "
        f"{result.households:,} 户 households, {result.residents:,} 名居民 residents"
    )
    rows = [["用户名 username", "角色 role", "范围 scope", "密码 password"]]
    rows += [
        [account.username, str(Role(account.role).label), _scope_label(scopes), DEMO_PASSWORD]
        for account, scopes in accounts
    ]
    return f"{counts}\n\n演示账号 Demo logins:\n{_table(rows)}\n"
