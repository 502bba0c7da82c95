"""日常运行 API: patrol findings and their follow-up tasks, today's disinfection and garbage.

A finding is logged by anyone who may record operations in the building (or, without one, in
their neighbourhood) and answers with its task; a task moves through ``status`` (open →
assigned → fixed → checked; a checker may send it back to assigned). A refused step is 409 with
``code``: ``invalid_transition`` (not the next step), ``not_allowed`` (not this party's task, e.g.
the property company checking), ``same_person`` (checking one's own fix). Writes accept
``idempotency_key``: a retried write is stored once and answered as the first time.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import Field

from jiayuan.core.api import Id, Pagination, answers
from jiayuan.core.idempotency import run_idempotent
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can, get_scoped_or_404, restrict
from jiayuan.operations import selectors, services
from jiayuan.operations.choices import Assignee, FindingKind, TaskStatus
from jiayuan.operations.models import Task
from jiayuan.places.models import Building, Neighbourhood

router = Router(tags=["operations"])


class FindingIn(Schema):
    kind: FindingKind
    place: str = Field("", max_length=200, description="地点(不填则为楼栋名)")
    note: str = Field("", max_length=2000)
    building: Id | None = Field(None, description="楼栋 id")
    idempotency_key: str = Field("", max_length=200)


class TaskOut(Schema):
    id: int
    status: str
    status_label: str
    title: str
    kind: str
    place: str
    note: str
    building_id: int | None
    assignee: str
    team_id: int | None
    due_at: dt.datetime
    overdue: bool
    created_at: dt.datetime
    fixed_at: dt.datetime | None
    checked_at: dt.datetime | None
    finding: int


def _task_body(task: Task) -> dict:
    return {
        "id": task.pk,
        "status": task.status,
        "status_label": str(task.get_status_display()),
        "title": task.title,
        "kind": task.finding.kind,
        "place": task.finding.place,
        "note": task.note or task.finding.note,
        "building_id": task.building_id,
        "assignee": task.assignee,
        "team_id": task.team_id,
        "due_at": task.due_at.isoformat(),
        "overdue": task.is_overdue,
        "created_at": task.created_at.isoformat(),
        "fixed_at": task.fixed_at.isoformat() if task.fixed_at else None,
        "checked_at": task.checked_at.isoformat() if task.checked_at else None,
        "finding": task.finding_id,
    }


@router.post("/patrol-findings", response=answers({201: TaskOut}, 403, 404), summary="登记巡查发现(生成整改任务)")
def finding_create(request, payload: FindingIn):
    user = request.auth
    if not can(user, Action.RECORD_OPERATIONS):
        raise PermissionDenied("没有登记巡查发现的权限")
    building = None
    if payload.building is not None:
        building = get_scoped_or_404(Building.objects.all(), user, Action.RECORD_OPERATIONS, pk=payload.building)
        neighbourhood = building.neighbourhood
    else:
        neighbourhood = restrict(Neighbourhood.objects.order_by("code"), user, Action.RECORD_OPERATIONS).first()
        if neighbourhood is None:
            raise PermissionDenied("没有登记巡查发现的权限")

    def create():
        task = services.finding_report(
            actor=user,
            neighbourhood=neighbourhood,
            kind=payload.kind,
            place=payload.place,
            note=payload.note,
            building=building,
        )
        return 201, _task_body(task)

    status, body = run_idempotent(scope=f"operations.finding:{user.pk}", key=payload.idempotency_key, fn=create)
    return Status(status, body)


class TaskStatusIn(Schema):
    status: TaskStatus
    note: str = Field("", max_length=2000)
    assignee: Assignee | None = Field(None, description="分派给谁(status=assigned 时; 默认物业公司)")
    team: Id | None = Field(None, description="志愿者队伍 id(assignee=team 时)")
    idempotency_key: str = Field("", max_length=200)


class _Refused(Exception):
    def __init__(self, error: services.TaskError):
        self.error = error


@router.post(
    "/tasks/{task_id}/status", response=answers(TaskOut, 403, 404, 409), summary="整改任务: 分派、整改、验收、退回"
)
def task_status(request, task_id: Id, payload: TaskStatusIn):
    user = request.auth
    task = selectors.visible_tasks(user, Action.MANAGE_TASKS).select_related("finding").filter(pk=task_id).first()
    if task is None:
        raise Http404
    team = None
    if payload.team is not None:
        from jiayuan.volunteers.models import Team

        team = Team.objects.filter(pk=payload.team, neighbourhood_id=task.neighbourhood_id).first()
        if team is None:
            raise ValidationError({"team": ["本居民区没有这支队伍"]})

    def change():
        try:
            changed = services.task_set_status(
                actor=user,
                task=task,
                status=payload.status,
                note=payload.note,
                assignee=payload.assignee or "",
                team=team,
            )
        except services.TaskError as exc:
            raise _Refused(exc) from exc
        changed.finding = task.finding
        return 200, _task_body(changed)

    try:
        status, body = run_idempotent(scope=f"operations.task:{task.pk}", key=payload.idempotency_key, fn=change)
    except _Refused as refused:
        return Status(409, {"detail": refused.error.message, "code": refused.error.code, "errors": []})
    return Status(status, body)


class TaskFilters(Schema):
    status: TaskStatus | None = None
    overdue: bool | None = Field(None, description="true: 只看逾期未整改的; false: 不含逾期的")


class TaskPage(Schema):
    items: list[TaskOut]
    count: int


@router.get("/tasks", response=answers(TaskPage), summary="整改任务列表")
def task_list(request, filters: Query[TaskFilters], page: Query[Pagination.Input]):
    tasks = selectors.task_list(user=request.auth, status=filters.status or "", overdue=filters.overdue)
    return {
        "items": [_task_body(t) for t in tasks[page.offset : page.offset + page.limit]],
        "count": tasks.count(),
    }


class DisinfectionOut(Schema):
    point: int
    name: str
    kind: str
    building_id: int | None
    compound_id: int
    zone: str
    every_hours: int
    due: int = Field(description="今天应消杀次数")
    done: int = Field(description="今天已消杀次数")
    overdue: int = Field(description="已到时间未消杀的次数")
    next_due_at: dt.datetime | None
    last_done_at: dt.datetime | None


class GarbageOut(Schema):
    building_id: int
    building: str
    zone: str
    mode: str = Field(description="bin_point 定点 / door_to_door 上门")
    door_households: int = Field(description="需上门收运的户数(隔离、居家管控、阳性)")
    separate_households: int = Field(description="阳性户(垃圾单独收运)")
    due: int
    done: int
    overdue: int = Field(description="1: 已过清运截止时间仍未清运")
    done_at: dt.datetime | None


class TodayOut(Schema):
    date: dt.date
    disinfection: list[DisinfectionOut]
    garbage: list[GarbageOut]


@router.get("/operations/today", response=answers(TodayOut), summary="今日消杀与垃圾清运")
def today(request):
    user = request.auth
    disinfection = [
        {
            "point": r["point"].pk,
            "name": r["point"].name,
            "kind": r["point"].kind,
            "building_id": r["point"].building_id,
            "compound_id": r["point"].compound_id,
            "zone": r["level"],
            "every_hours": r["hours"],
            "due": r["due"],
            "done": r["done"],
            "overdue": r["overdue"],
            "next_due_at": r["next_due_at"],
            "last_done_at": r["last_done_at"],
        }
        for r in selectors.disinfection_board(user=user)
    ]
    garbage = [
        {
            "building_id": r["building"].pk,
            "building": r["building"].name,
            "zone": r["level"],
            "mode": r["mode"],
            "door_households": r["door"],
            "separate_households": r["separate"],
            "due": 1,
            "done": 1 if r["round"] else 0,
            "overdue": 1 if r["missed"] else 0,
            "done_at": r["round"].done_at if r["round"] else None,
        }
        for r in selectors.garbage_board(user=user)
    ]
    return {"date": timezone.localdate(), "disinfection": disinfection, "garbage": garbage}
