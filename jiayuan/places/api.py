"""Places endpoints."""

from ninja import Router, Schema
from ninja.pagination import paginate

from jiayuan.core.api import Pagination
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


@router.get("/buildings", response=list[BuildingOut], summary="楼栋列表(含户数、人数)")
@paginate(Pagination)
def buildings_list(request, compound: int | None = None):
    return selectors.building_list(user=request.auth, compound_id=compound)
