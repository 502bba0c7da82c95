"""Places endpoints."""

from ninja import Query, Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from jiayuan.core.api import Id, Pagination, answers
from jiayuan.places import selectors

router = Router(tags=["places"])


class BuildingOut(Schema):
    id: int
    number: str
    name: str
    compound: str
    compound_id: int
    units: int
    floors: int | None
    households: int
    residents: int
    present: int

    @staticmethod
    def resolve_compound(obj) -> str:
        return obj.compound.name

    @staticmethod
    def resolve_households(obj) -> int:
        return obj.household_count

    @staticmethod
    def resolve_residents(obj) -> int:
        return obj.resident_count

    @staticmethod
    def resolve_present(obj) -> int:
        return obj.present_count


class BuildingFilters(Schema):
    compound_id: Id | None = Field(None, description="小区 id")


@router.get("/buildings", response=answers(list[BuildingOut]), summary="楼栋列表(含户数、人数)")
@paginate(Pagination)
def buildings_list(request, filters: Query[BuildingFilters]):
    return selectors.building_list(user=request.auth, compound_id=filters.compound_id)
