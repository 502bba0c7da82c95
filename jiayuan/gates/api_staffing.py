"""门岗值守 API: who the volunteer teams put on duty at a gate on a day (``gates.staffing``).

``GET /gates/{id}/staffing?date=YYYY-MM-DD`` (today by default; ``limit``/``offset`` as every
list): the shifts at the gate that run during the day, by start, each with its team, its instants,
the people it needs, how many are checked in, how many are missing once it started (``missing``)
and its volunteers (names masked). The gate is read through the caller's VIEW_GATES scope: another
compound's gate is a 404.
"""

import datetime as dt

from django.utils import timezone
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from jiayuan.core.api import Day, Id, Pagination, answers
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import get_scoped_or_404
from jiayuan.gates import staffing
from jiayuan.gates.models import Gate

router = Router(tags=["gates"])


class StaffingQuery(Schema):
    date: Day | None = None


class OnDutyOut(Schema):
    name: str
    checked_in: bool


class DutyOut(Schema):
    team: str
    start: dt.datetime
    end: dt.datetime
    needed: int
    checked_in: int
    missing: int
    volunteers: list[OnDutyOut]


@router.get("/gates/{gate_id}/staffing", response=answers(list[DutyOut], 404), summary="门岗今日值守")
@paginate(Pagination)
def gate_staffing(request, gate_id: Id, filters: Query[StaffingQuery]):
    gate = get_scoped_or_404(Gate.objects.all(), request.auth, Action.VIEW_GATES, pk=gate_id)
    return [d.as_json() for d in staffing.for_gate(gate, filters.date or timezone.localdate())]
