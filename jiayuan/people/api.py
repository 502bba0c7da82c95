"""Resident endpoints. ID numbers and phones are always masked here."""

import datetime as dt

from ninja import Query, Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from jiayuan.core.api import Id, Pagination, answers
from jiayuan.people import selectors
from jiayuan.people.choices import Presence, Tag

router = Router(tags=["people"])


class ResidentListOut(Schema):
    id: int
    name: str
    building: str | None
    building_id: int | None
    unit: str | None
    room: str | None
    id_number: str
    phone: str
    tags: list[str]
    presence: str
    sampling_code: str | None = None

    @staticmethod
    def resolve_sampling_code(obj, context):
        # Only to users who may sample (or plan rounds) where the resident lives.
        from jiayuan.screening.selectors import sampling_code_for

        return sampling_code_for(user=context["request"].auth, resident=obj)

    @staticmethod
    def resolve_building(obj):
        return obj.household.building.name if obj.household_id else None

    @staticmethod
    def resolve_building_id(obj):
        return obj.household.building_id if obj.household_id else None

    @staticmethod
    def resolve_unit(obj):
        return obj.household.unit if obj.household_id else None

    @staticmethod
    def resolve_room(obj):
        return obj.household.room if obj.household_id else None

    @staticmethod
    def resolve_id_number(obj):
        return obj.id_number_masked

    @staticmethod
    def resolve_phone(obj):
        return obj.phone_masked


class ResidentDetailOut(ResidentListOut):
    compound: str | None
    household_id: int | None
    gender: str
    birth_date: dt.date | None
    age: int | None
    id_type: str
    relation_to_head: str
    residency: str
    notes: str

    @staticmethod
    def resolve_compound(obj):
        return obj.household.building.compound.name if obj.household_id else None


class ResidentFilters(Schema):
    building_id: Id | None = Field(None, description="楼栋 id")
    search: str = Field("", max_length=64, description="姓名、室号(301 或 3-301)、手机后4位、完整手机号或证件号")
    tag: Tag | None = None
    presence: Presence | None = None


@router.get("/residents", response=answers(list[ResidentListOut]), summary="居民列表(脱敏)")
@paginate(Pagination)
def residents_list(request, filters: Query[ResidentFilters]):
    return selectors.resident_list(
        user=request.auth,
        search=filters.search,
        building_id=filters.building_id,
        tag=filters.tag or "",
        presence=filters.presence or "",
    )


@router.get("/residents/{resident_id}", response=answers(ResidentDetailOut, 404), summary="居民详情(脱敏)")
def residents_get(request, resident_id: Id):
    return selectors.resident_get(user=request.auth, resident_id=resident_id)
