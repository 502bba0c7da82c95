"""Staff pages for daily operations. Thin: resolve through the user's scope, call a service or
selector. The boards open for those who see operations and for volunteers who log rounds."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiayuan.core import xlsx
from jiayuan.core.forms import apply_service_errors
from jiayuan.core.pagination import paginate
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can, get_scoped_or_404, restrict, roles
from jiayuan.operations import forms, selectors, services
from jiayuan.operations.choices import Assignee, CaseStatus, PointKind, TaskStatus
from jiayuan.operations.models import DisinfectionPoint, Finding, PatrolRun, RentalCase, Task
from jiayuan.places.models import Building, Compound, Household, Neighbourhood


def _require(user, *actions: str) -> None:
    if not any(can(user, a) for a in actions):
        raise Http404


def _attempt(request, fn: Callable, success: str) -> bool:
    try:
        fn()
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return False
    except services.TaskError as exc:
        messages.error(request, exc.message)
        return False
    messages.success(request, success)
    return True


def _teams(user, action: str):
    from jiayuan.volunteers.models import Team

    return restrict(Team.objects.filter(active=True), user, action).order_by("name")


def _perms(user) -> dict[str, bool]:
    return {
        "view": can(user, Action.VIEW_OPERATIONS),
        "record": can(user, Action.RECORD_OPERATIONS),
        "tasks": can(user, Action.MANAGE_TASKS),
        "rentals": can(user, Action.MANAGE_RENTALS),
        "settings": _may_edit_settings(user),
    }


def _may_edit_settings(user) -> bool:
    return can(user, Action.MANAGE_TASKS) and bool(user.is_superuser or roles(user) & services.COMMITTEE)


# Overview ------------------------------------------------------------------------------------


@login_required
def index(request):
    user = request.user
    _require(user, Action.VIEW_OPERATIONS, Action.RECORD_OPERATIONS)
    board = selectors.disinfection_board(user=user)
    garbage = selectors.garbage_board(user=user)
    context = {
        "perms": _perms(user),
        "disinfection_overdue": sum(1 for r in board if r["overdue"]),
        "disinfection_due": sum(r["due"] for r in board),
        "disinfection_done": sum(min(r["done"], r["due"]) for r in board),
        "garbage_missed": sum(1 for r in garbage if r["missed"]),
        "garbage_done": sum(1 for r in garbage if r["round"]),
        "garbage_total": len(garbage),
    }
    if context["perms"]["view"]:
        tasks = selectors.task_list(user=user)
        context["tasks_overdue"] = selectors.task_list(user=user, overdue=True).count()
        context["tasks_open"] = tasks.filter(status__in=[TaskStatus.OPEN, TaskStatus.ASSIGNED]).count()
        context["tasks_fixed"] = tasks.filter(status=TaskStatus.FIXED).count()
        context["findings"] = selectors.finding_list(user=user)[:10]
        context["share_text"] = _summary_wechat(context)
    return render(request, "operations/index.html", context)


def _summary_wechat(c: dict) -> str:
    """Today's figures for the committee's WeChat group: numbers only, no names or rooms."""
    lines = [
        _("【今日巡查消杀 %(day)s】") % {"day": timezone.localdate().strftime("%m-%d")},
        _("消杀: 已做 %(done)d 次 / 应做 %(due)d 次, %(late)d 个点位超时")
        % {"done": c["disinfection_done"], "due": c["disinfection_due"], "late": c["disinfection_overdue"]},
        _("垃圾清运: %(done)d / %(total)d 栋, %(missed)d 栋未清运")
        % {"done": c["garbage_done"], "total": c["garbage_total"], "missed": c["garbage_missed"]},
        _("整改: %(open)d 项待整改 (其中 %(late)d 项逾期), %(fixed)d 项待验收")
        % {"open": c["tasks_open"], "late": c["tasks_overdue"], "fixed": c["tasks_fixed"]},
    ]
    return "\n".join(lines)


# Findings and tasks --------------------------------------------------------------------------


@login_required
def finding_new(request):
    user = request.user
    _require(user, Action.RECORD_OPERATIONS)
    buildings = restrict(Building.objects.select_related("compound"), user, Action.RECORD_OPERATIONS)
    runs = selectors.patrol_list(user=user, action=Action.RECORD_OPERATIONS).filter(ended_at__isnull=True)
    form = forms.FindingForm(request.POST or None, request.FILES or None, buildings=buildings, runs=runs)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        building = data["building"]
        neighbourhood = (
            building.neighbourhood
            if building
            else restrict(Neighbourhood.objects.order_by("code"), user, Action.RECORD_OPERATIONS).first()
        )
        try:
            task = services.finding_report(
                actor=user,
                neighbourhood=neighbourhood,
                kind=data["kind"],
                place=data["place"],
                note=data["note"],
                building=building,
                run=data["run"],
                photo=data["photo"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("已登记, 整改任务已生成"))
            if can(user, Action.VIEW_OPERATIONS, task):
                return redirect("operations:task", task.pk)
            return redirect("operations:finding_new")
    return render(request, "operations/finding_form.html", {"form": form})


@login_required
def task_list(request):
    user = request.user
    if not can(user, Action.VIEW_OPERATIONS) and not selectors.led_team_ids(user):
        raise Http404
    status = request.GET.get("status", "")
    if status not in TaskStatus.values:
        status = ""
    overdue = True if request.GET.get("overdue") in ("1", "true") else None
    tasks = selectors.task_list(user=user, status=status, overdue=overdue)
    if request.GET.get("format") == "xlsx":
        return _tasks_xlsx(tasks)
    context = {
        "page": paginate(request, tasks),
        "status": status,
        "overdue": overdue,
        "statuses": TaskStatus.choices,
        "perms": _perms(user),
    }
    return render(request, "operations/task_list.html", context)


def _tasks_xlsx(tasks):
    rows = [
        (
            [
                t.pk,
                t.title,
                t.building.name if t.building else "",
                t.finding.place,
                t.get_status_display(),
                t.assignee_label,
                timezone.localtime(t.created_at).strftime("%Y-%m-%d %H:%M"),
                timezone.localtime(t.due_at).strftime("%Y-%m-%d %H:%M"),
                _("逾期") if t.is_overdue else "",
                t.note or t.finding.note,
            ]
        )
        for t in tasks[:5000]
    ]
    header = [
        _("编号"),
        _("事项"),
        _("楼栋"),
        _("地点"),
        _("状态"),
        _("责任方"),
        _("发现时间"),
        _("整改时限"),
        _("逾期"),
        _("说明"),
    ]
    sheet = xlsx.Sheet(
        name=_("整改任务"), header=header, rows=rows, title=f"{_('整改任务')} {timezone.localdate():%Y-%m-%d}"
    )
    return xlsx.xlsx_response(xlsx.tables_xlsx([sheet]), f"整改任务-{timezone.localdate():%Y%m%d}.xlsx")


def _task_or_404(tasks, task_id: int) -> Task:
    task = tasks.filter(pk=task_id).first()
    if task is None:
        raise Http404
    return task


@login_required
def task_detail(request, task_id: int):
    user = request.user
    task = _task_or_404(
        selectors.visible_tasks(user).select_related(
            "finding", "building", "team", "fixed_by", "checked_by", "finding__run"
        ),
        task_id,
    )
    may_manage = can(user, Action.MANAGE_TASKS, task) or task.team_id in selectors.led_team_ids(user)
    context = {
        "task": task,
        "finding": task.finding,
        "may_manage": may_manage,
        "assign_form": forms.AssignForm(
            teams=_teams(user, Action.VIEW_OPERATIONS), initial={"assignee": Assignee.PROPERTY}
        ),
        "note_form": forms.NoteForm(),
        "coordinator": bool(user.is_superuser or roles(user) & services.COORDINATORS),
    }
    return render(request, "operations/task_detail.html", context)


@login_required
@require_POST
def task_move(request, task_id: int, status: str):
    user = request.user
    task = _task_or_404(selectors.visible_tasks(user, Action.MANAGE_TASKS), task_id)
    if status not in TaskStatus.values:
        raise Http404
    team = None
    assignee = ""
    if status == TaskStatus.ASSIGNED:
        form = forms.AssignForm(request.POST, teams=_teams(user, Action.VIEW_OPERATIONS))
        if not form.is_valid():
            messages.error(request, _("请选择交给谁"))
            return redirect("operations:task", task.pk)
        assignee, team = form.cleaned_data["assignee"], form.cleaned_data["team"]
        note = form.cleaned_data["note"]
    else:
        form = forms.NoteForm(request.POST)
        note = form.cleaned_data["note"] if form.is_valid() else ""
    done = {
        TaskStatus.ASSIGNED: _("已分派"),
        TaskStatus.FIXED: _("已标记整改完成, 等待验收"),
        TaskStatus.CHECKED: _("已验收"),
    }[status]
    _attempt(
        request,
        lambda: services.task_set_status(actor=user, task=task, status=status, note=note, assignee=assignee, team=team),
        done,
    )
    return redirect("operations:task", task.pk)


@login_required
def finding_photo(request, finding_id: int):
    finding = get_scoped_or_404(Finding.objects.all(), request.user, Action.VIEW_OPERATIONS, pk=finding_id)
    try:
        handle, content_type = services.finding_photo_open(actor=request.user, finding=finding)
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    return response


# Patrols -------------------------------------------------------------------------------------


@login_required
def patrols(request):
    user = request.user
    _require(user, Action.VIEW_OPERATIONS, Action.RECORD_OPERATIONS)
    action = selectors.board_action(user)
    form = None
    if can(user, Action.RECORD_OPERATIONS):
        form = forms.PatrolForm(request.POST or None, teams=_teams(user, Action.RECORD_OPERATIONS))
        if request.method == "POST" and form.is_valid():
            nb = restrict(Neighbourhood.objects.order_by("code"), user, Action.RECORD_OPERATIONS).first()
            data = form.cleaned_data
            try:
                services.patrol_start(
                    actor=user, neighbourhood=nb, route=data["route"], members=data["members"], team=data["team"]
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("巡查已开始; 发现问题请点「登记发现」"))
                return redirect("operations:patrols")
    runs = selectors.patrol_list(user=user, action=action)
    return render(request, "operations/patrols.html", {"page": paginate(request, runs), "form": form})


@login_required
@require_POST
def patrol_end(request, run_id: int):
    run = get_scoped_or_404(PatrolRun.objects.all(), request.user, Action.RECORD_OPERATIONS, pk=run_id)
    _attempt(request, lambda: services.patrol_end(actor=request.user, run=run), _("巡查已结束"))
    return redirect("operations:patrols")


# Disinfection --------------------------------------------------------------------------------


@login_required
def disinfection(request):
    user = request.user
    _require(user, Action.VIEW_OPERATIONS, Action.RECORD_OPERATIONS)
    rows = selectors.disinfection_board(user=user)
    form = None
    if can(user, Action.MANAGE_TASKS):
        form = forms.PointForm(
            request.POST or None,
            compounds=restrict(Compound.objects.all(), user, Action.MANAGE_TASKS),
            buildings=restrict(Building.objects.select_related("compound"), user, Action.MANAGE_TASKS),
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                services.point_create(
                    actor=user,
                    compound=data["compound"],
                    building=data["building"],
                    kind=data["kind"],
                    name=data["name"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("点位已添加"))
                return redirect("operations:disinfection")
    context = {
        "rows": rows,
        "form": form,
        "corridors": selectors.corridors_missing(user=user) if form is not None else [],
        "may_record": can(user, Action.RECORD_OPERATIONS),
        "now": timezone.now(),
        "settings": services.settings_for(rows[0]["point"].neighbourhood_id) if rows else None,
    }
    return render(request, "operations/disinfection.html", context)


@login_required
@require_POST
def corridor_add(request, building_id: int):
    """One tap: the corridors of a building with cases become a disinfection point."""
    user = request.user
    building = get_scoped_or_404(Building.objects.all(), user, Action.MANAGE_TASKS, pk=building_id)
    _attempt(
        request,
        lambda: services.point_create(
            actor=user,
            compound=building.compound,
            building=building,
            kind=PointKind.CORRIDOR,
            name=_("%(b)s楼道") % {"b": building.name},
        ),
        _("已添加: %(b)s楼道") % {"b": building.name},
    )
    return redirect("operations:disinfection")


@login_required
@require_POST
def disinfection_log(request, point_id: int):
    user = request.user
    point = get_scoped_or_404(DisinfectionPoint.objects.all(), user, Action.RECORD_OPERATIONS, pk=point_id)
    agent = request.POST.get("agent", "")
    _attempt(
        request,
        lambda: services.disinfection_log(actor=user, point=point, agent=agent, worker=request.POST.get("worker", "")),
        _("已登记消杀: %(point)s") % {"point": point.name},
    )
    return redirect("operations:disinfection")


# Garbage -------------------------------------------------------------------------------------


@login_required
def garbage(request):
    user = request.user
    _require(user, Action.VIEW_OPERATIONS, Action.RECORD_OPERATIONS)
    rows = selectors.garbage_board(user=user)
    wechat = _garbage_wechat(rows)
    context = {"rows": rows, "may_record": can(user, Action.RECORD_OPERATIONS), "wechat": wechat}
    return render(request, "operations/garbage.html", context)


def _garbage_wechat(rows) -> str:
    """A message for the buildings' WeChat groups: which buildings put garbage at the door."""
    door = [r["building"].name for r in rows if r["mode"] == "door_to_door"]
    if not door:
        return ""
    return _("【垃圾收运】%(buildings)s 为封控楼, 请把垃圾袋扎紧放在门口, 工作人员上门收运, 请勿下楼。") % {
        "buildings": "、".join(door)
    }


@login_required
@require_POST
def garbage_log(request, building_id: int):
    user = request.user
    building = get_scoped_or_404(Building.objects.all(), user, Action.RECORD_OPERATIONS, pk=building_id)
    bags = request.POST.get("bags") or None
    try:
        bags = int(bags) if bags is not None else None
        if bags is not None and not 0 <= bags <= 10000:
            raise ValueError
    except ValueError:
        messages.error(request, _("袋数应为 0 至 10000 的整数"))
        return redirect("operations:garbage")
    _attempt(
        request,
        lambda: services.garbage_log(actor=user, building=building, bags=bags, worker=request.POST.get("worker", "")),
        _("已登记垃圾清运: %(b)s") % {"b": building.name},
    )
    return redirect("operations:garbage")


# Hazard and group-rental cases ---------------------------------------------------------------


@login_required
def cases(request):
    user = request.user
    _require(user, Action.MANAGE_RENTALS)
    buildings = restrict(Building.objects.select_related("compound"), user, Action.MANAGE_RENTALS)
    form = forms.CaseForm(request.POST or None, buildings=buildings)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        household = Household.objects.filter(
            building=data["building"], unit=data["unit"].strip(), room=data["room"].strip()
        ).first()
        if household is None:
            form.add_error("room", _("该楼栋没有这个单元室号"))
        else:
            try:
                case = services.case_report(
                    actor=user,
                    household=household,
                    kind=data["kind"],
                    reported_by=data["reported_by"],
                    description=data["description"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("已登记"))
                return redirect("operations:case", case.pk)
    rows = selectors.case_list(user=user, action=Action.MANAGE_RENTALS)
    return render(request, "operations/cases.html", {"page": paginate(request, rows), "form": form})


NEXT_STEP = {
    CaseStatus.REPORTED: CaseStatus.INSPECTED,
    CaseStatus.INSPECTED: CaseStatus.ACTION,
    CaseStatus.ACTION: CaseStatus.RECTIFIED,
    CaseStatus.RECTIFIED: CaseStatus.CLOSED,
}


@login_required
def case_detail(request, case_id: int):
    user = request.user
    case = get_scoped_or_404(
        RentalCase.objects.select_related("household", "building"), user, Action.MANAGE_RENTALS, pk=case_id
    )
    step = NEXT_STEP.get(case.status)
    context = {
        "case": case,
        "step": step,
        "step_label": CaseStatus(step).label if step else "",
        "fields": services.CASE_FIELDS.get(step, ()) if step else (),
        "step_form": forms.CaseStepForm(),
        "occupant_form": forms.OccupantForm(),
        "may_skip": case.kind == "hazard" and case.status == CaseStatus.INSPECTED,
        "residents": case.household.residents.order_by("id"),
    }
    return render(request, "operations/case_detail.html", context)


@login_required
@require_POST
def case_step(request, case_id: int):
    user = request.user
    case = get_scoped_or_404(RentalCase.objects.all(), user, Action.MANAGE_RENTALS, pk=case_id)
    status = request.POST.get("status", "")
    form = forms.CaseStepForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请检查填写的数字"))
        return redirect("operations:case", case.pk)
    values = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
    _attempt(request, lambda: services.case_advance(actor=user, case=case, status=status, **values), _("已更新"))
    return redirect("operations:case", case.pk)


@login_required
@require_POST
def case_occupant(request, case_id: int):
    user = request.user
    case = get_scoped_or_404(RentalCase.objects.select_related("household"), user, Action.MANAGE_RENTALS, pk=case_id)
    if not can(user, Action.CHANGE_RESIDENT, case.household):
        raise Http404
    form = forms.OccupantForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写姓名"))
        return redirect("operations:case", case.pk)
    _attempt(
        request,
        lambda: services.case_register_occupant(actor=user, case=case, **form.cleaned_data),
        _("已登记为本户居民"),
    )
    return redirect("operations:case", case.pk)


# Settings ------------------------------------------------------------------------------------


@login_required
def settings_edit(request):
    user = request.user
    if not _may_edit_settings(user):
        raise Http404
    nb = restrict(Neighbourhood.objects.order_by("code"), user, Action.MANAGE_TASKS).first()
    if nb is None:
        raise Http404
    current = services.settings_for(nb.pk)
    form = forms.SettingsForm(request.POST or None, instance=services.settings_for(nb.pk))
    if request.method == "POST" and form.is_valid():
        values = {f: form.cleaned_data[f] for f in services.SETTING_FIELDS}
        try:
            services.settings_update(actor=user, neighbourhood=nb, **values)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("设置已保存"))
            return redirect("operations:disinfection")
    return render(request, "operations/settings.html", {"form": form, "neighbourhood": nb, "current": current})
