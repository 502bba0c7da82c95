"""Staff pages of 民呼我应. Thin: resolve through the user's scope, call a service or selector."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiayuan.accounts.models import User
from jiayuan.care import forms, selectors, services
from jiayuan.care.choices import Category, EmergencyOutcome, GroupRole, Status, VisitFinding, VisitMode
from jiayuan.care.models import EmergencyCall, SupportGroup, SupportMember, VisitPlan
from jiayuan.core.audit import audit_record
from jiayuan.core.forms import apply_service_errors
from jiayuan.core.masking import mask_name
from jiayuan.core.pagination import paginate
from jiayuan.core.permissions import ROLE_ACTIONS, Action
from jiayuan.core.scoping import can, get_scoped_or_404, restrict
from jiayuan.core.xlsx import Sheet, tables_xlsx, xlsx_response
from jiayuan.people.models import Resident
from jiayuan.places.models import Household, Neighbourhood


def _require(user, action: str) -> None:
    if not can(user, action):
        raise Http404


def _neighbourhood(user, action: str) -> Neighbourhood:
    nb = restrict(Neighbourhood.objects.order_by("code"), user, action).first()
    if nb is None:
        raise Http404
    return nb


def _attempt(request, fn, success: str) -> bool:
    try:
        fn()
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return False
    messages.success(request, success)
    return True


def _handlers(neighbourhood_id: int):
    """People who may handle requests somewhere in the neighbourhood (the service checks the place)."""
    roles = [role for role, actions in ROLE_ACTIONS.items() if Action.HANDLE_REQUESTS in actions]
    place = (
        Q(assignments__neighbourhood_id=neighbourhood_id, assignments__level="neighbourhood")
        | Q(assignments__compound__neighbourhood_id=neighbourhood_id)
        | Q(assignments__building__neighbourhood_id=neighbourhood_id)
    )
    return (
        User.objects.filter(place, is_active=True, assignments__active=True, assignments__role__in=roles)
        .distinct()
        .order_by("display_name", "username")
    )


def _teams(neighbourhood_id: int):
    from jiayuan.volunteers.models import Team

    return Team.objects.filter(neighbourhood_id=neighbourhood_id, active=True).order_by("name")


# Requests ------------------------------------------------------------------------------------


@login_required
def index(request):
    _require(request.user, Action.VIEW_REQUESTS)
    status = request.GET.get("status", "")
    status = status if status in Status.values else ""
    category = request.GET.get("category", "")
    category = category if category in Category.values else ""
    overdue = request.GET.get("overdue") == "1"
    mine = request.GET.get("mine") == "1"
    qs = selectors.request_list(
        user=request.user,
        status=status,
        category=category,
        overdue=True if overdue else None,
        mine=mine,
        open_only=not status and not overdue,
    )
    page = paginate(request, qs)
    for req in page.object_list:
        req.readable = services.may_read_content(request.user, req)
    return render(
        request,
        "care/index.html",
        {
            "page": page,
            "status": status,
            "category": category,
            "overdue": overdue,
            "mine": mine,
            "statuses": Status.choices,
            "categories": Category.choices,
            "overdue_count": selectors.request_list(user=request.user, overdue=True).count(),
            "may_handle": can(request.user, Action.HANDLE_REQUESTS),
        },
    )


def _audit_confidential_read(user, req) -> None:
    if req.is_psychological and services.may_read_content(user, req):
        audit_record(actor=user, action="care.request_view_confidential", obj=req)


@login_required
def detail(request, request_id: int):
    req = selectors.request_get(user=request.user, request_id=request_id)
    readable = services.may_read_content(request.user, req)
    _audit_confidential_read(request.user, req)
    may_handle = readable and services.may_handle(request.user, req)
    steps = [
        s for s in services.TRANSITIONS[req.status] if s not in services.HOUSEHOLD_STEPS or req.status == Status.DONE
    ]
    context = {
        "req": req,
        "readable": readable,
        "may_handle": may_handle,
        "steps": [(s, Status(s).label) for s in steps] if may_handle else [],
        "handlers": _handlers(req.neighbourhood_id) if may_handle else [],
        "teams": _teams(req.neighbourhood_id) if may_handle else [],
        "item_form": forms.ErrandItemForm() if may_handle and req.category == Category.MEDICINE else None,
        "now": timezone.now(),
    }
    return render(request, "care/detail.html", context)


@login_required
@require_POST
def step(request, request_id: int):
    req = selectors.request_get(user=request.user, request_id=request_id, action=Action.HANDLE_REQUESTS)
    if not services.may_read_content(request.user, req):
        raise Http404
    target = request.POST.get("status", "")
    label = Status(target).label if target in Status.values else ""
    _attempt(
        request,
        lambda: services.request_transition(
            actor=request.user, request=req, status=target, note=request.POST.get("note", "")
        ),
        _("已更新为“%(s)s”") % {"s": label},
    )
    return redirect("care:detail", req.pk)


@login_required
@require_POST
def assign(request, request_id: int):
    req = selectors.request_get(user=request.user, request_id=request_id, action=Action.HANDLE_REQUESTS)
    if not services.may_read_content(request.user, req):
        raise Http404
    user = team = None
    who = request.POST.get("who", "")
    kind, _sep, pk = who.partition(":")
    if kind == "user":
        user = _handlers(req.neighbourhood_id).filter(pk=pk if pk.isdigit() else 0).first()
    elif kind == "team":
        team = _teams(req.neighbourhood_id).filter(pk=pk if pk.isdigit() else 0).first()
    if user is None and team is None:
        messages.error(request, _("请选择负责人或队伍"))
    else:
        _attempt(
            request,
            lambda: services.request_assign(actor=request.user, request=req, user=user, team=team),
            _("已分派给 %(who)s") % {"who": user or team},
        )
    return redirect("care:detail", req.pk)


@login_required
@require_POST
def errand_item(request, request_id: int):
    req = selectors.request_get(user=request.user, request_id=request_id, action=Action.HANDLE_REQUESTS)
    form = forms.ErrandItemForm(request.POST)
    if form.is_valid():
        _attempt(
            request,
            lambda: services.errand_item_add(actor=request.user, request=req, **form.cleaned_data),
            _("已添加药品"),
        )
    else:
        messages.error(request, _("请填写药品、数量和医院"))
    return redirect("care:detail", req.pk)


@login_required
@require_POST
def errand_cost(request, request_id: int):
    req = selectors.request_get(user=request.user, request_id=request_id, action=Action.HANDLE_REQUESTS)
    raw = request.POST.get("cost", "").strip()
    try:
        cost = Decimal(raw) if raw else None
    except InvalidOperation:
        messages.error(request, _("费用不正确"))
        return redirect("care:detail", req.pk)
    _attempt(
        request,
        lambda: services.errand_cost(actor=request.user, request=req, cost=cost, paid=bool(request.POST.get("paid"))),
        _("已记录费用"),
    )
    return redirect("care:detail", req.pk)


@login_required
def who_lookup(request):
    """The phone log's list as one types: ``?q=3号楼 301`` → ``{"items": [{"label": …}]}``, at
    most 20 households and 20 residents of the caller's scope (never the whole roster)."""
    _require(request.user, Action.HANDLE_REQUESTS)
    found = selectors.who_search(user=request.user, q=request.GET.get("q", ""))
    return JsonResponse({"items": [{"label": label} for label, _h, _r in found]})


@login_required
def phone_log(request):
    """Three taps: household (or resident), topic, note → a request."""
    _require(request.user, Action.HANDLE_REQUESTS)
    form = forms.PhoneLogForm(
        request.POST or None,
        resolve=lambda label: selectors.who_resolve(user=request.user, label=label),
        initial={"idempotency_key": uuid.uuid4().hex},
    )
    if request.method == "POST" and form.is_valid():
        household_id, resident_id = form.cleaned_data["who"]
        household = Household.objects.select_related("building").get(pk=household_id)
        resident = Resident.objects.filter(pk=resident_id).first() if resident_id else None
        try:
            req, _created = services.request_create(
                actor=request.user,
                household=household,
                resident=resident,
                category=form.cleaned_data["category"],
                urgency=form.cleaned_data["urgency"],
                description=form.cleaned_data["description"],
                source=services.Source.PHONE if request.POST.get("source") != "leader" else services.Source.LEADER,
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("已登记诉求 #%(id)s") % {"id": req.pk})
            return redirect("care:detail", req.pk)
    return render(request, "care/phone_log.html", {"form": form})


# Medicine errands ---------------------------------------------------------------------------


@login_required
def errands(request):
    _require(request.user, Action.HANDLE_REQUESTS)
    open_errands = list(selectors.open_medicine_errands(user=request.user))
    batches = services.errand_batches(open_errands)
    nb = _neighbourhood(request.user, Action.HANDLE_REQUESTS)
    if request.method == "POST":
        hospital = request.POST.get("hospital", "")
        volunteer = _handlers(nb.pk).filter(pk=request.POST.get("volunteer") or 0).first()
        if volunteer is None:
            messages.error(request, _("请选择跑腿的人"))
        else:
            holder = {}

            def create():
                holder["run"] = services.errand_run_create(
                    actor=request.user,
                    neighbourhood_id=nb.pk,
                    hospital=hospital,
                    volunteer=volunteer,
                    requests=batches.get(hospital, []),
                )

            if _attempt(request, create, _("已安排跑腿批次")):
                return redirect("care:run", holder["run"].pk)
        return redirect("care:errands")
    return render(
        request,
        "care/errands.html",
        {
            "batches": batches,
            "handlers": _handlers(nb.pk),
            "runs": selectors.errand_runs(user=request.user)[:20],
        },
    )


@login_required
def run_detail(request, run_id: int):
    run = selectors.errand_run_get(user=request.user, run_id=run_id)
    reqs = selectors.run_requests(user=request.user, run=run)
    return render(request, "care/run.html", {"run": run, "reqs": reqs})


@login_required
def run_xlsx(request, run_id: int):
    """The pick-up list as a spreadsheet (resident names masked), audited."""
    run = selectors.errand_run_get(user=request.user, run_id=run_id)
    reqs = selectors.run_requests(user=request.user, run=run)
    rows = [
        [
            str(r.household),
            mask_name(r.resident.name) if r.resident_id else "",
            i.name,
            i.quantity,
            i.get_handed_over_display(),
            float(r.cost) if r.cost is not None else "",
            "",
        ]
        for r in reqs
        for i in r.errand_items.all()
    ]
    sheet = Sheet(
        name=_("取药清单"),
        title=f"{run.hospital} · {run.day:%Y-%m-%d} · {run.volunteer}",
        header=[_("住户"), _("居民"), _("药品"), _("数量"), _("凭证"), _("费用"), _("签收")],
        rows=rows,
        widths={1: 22, 3: 20, 5: 12},
    )
    audit_record(
        actor=request.user,
        action="care.errand_run_export",
        obj=run,
        object_repr=f"#{run.pk} {run.hospital}",
        changes={"requests": len(reqs)},
    )
    return xlsx_response(tables_xlsx([sheet]), f"取药清单-{run.hospital}-{run.day:%m%d}.xlsx")


@login_required
@require_POST
def run_done(request, run_id: int):
    _require(request.user, Action.HANDLE_REQUESTS)
    run = selectors.errand_run_get(user=request.user, run_id=run_id)
    services.run_done(actor=request.user, run=run)
    messages.success(request, _("已标记送达"))
    return redirect("care:run", run.pk)


# Medical trips ------------------------------------------------------------------------------


def _residents(user, action: str):
    return restrict(Resident.objects.filter(household__isnull=False), user, action).select_related(
        "household__building"
    )


@login_required
def trips(request):
    _require(request.user, Action.VIEW_REQUESTS)
    manage = can(request.user, Action.MANAGE_CARE)
    tagged = _residents(request.user, Action.MANAGE_CARE).filter(tag_rows__tag="dialysis").distinct() if manage else []
    escorts = _handlers(_neighbourhood(request.user, Action.MANAGE_CARE).pk) if manage else []
    schedule_form = forms.ScheduleForm(
        request.POST if request.POST.get("form") == "schedule" else None, residents=tagged, escorts=escorts, prefix="s"
    )
    emergency_form = None
    if can(request.user, Action.HANDLE_REQUESTS):
        emergency_form = forms.EmergencyForm(
            request.POST if request.POST.get("form") == "emergency" else None,
            residents=_residents(request.user, Action.HANDLE_REQUESTS)[:2000],
            prefix="e",
        )
    if request.method == "POST":
        form = schedule_form if request.POST.get("form") == "schedule" else emergency_form
        if form is None or (form is schedule_form and not manage):
            raise Http404
        if form.is_valid():
            data = dict(form.cleaned_data)
            action = Action.MANAGE_CARE if form is schedule_form else Action.HANDLE_REQUESTS
            data["resident"] = get_scoped_or_404(Resident.objects.all(), request.user, action, pk=data["resident"])
            if "escort" in data:
                data["escort"] = next((u for u in escorts if u.pk == data["escort"]), None)
            fn = services.schedule_create if form is schedule_form else services.emergency_log
            try:
                fn(actor=request.user, **data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("已登记"))
                return redirect("care:trips")
    today = timezone.localdate()
    schedules = list(selectors.schedules(user=request.user))
    return render(
        request,
        "care/trips.html",
        {
            "schedules": schedules,
            "today_trips": services.trips_on(schedules, today),
            "emergencies": selectors.emergencies(user=request.user)[:30],
            "schedule_form": schedule_form if manage else None,
            "emergency_form": emergency_form,
            "outcomes": EmergencyOutcome.choices,
        },
    )


@login_required
@require_POST
def emergency_outcome(request, call_id: int):
    call = get_scoped_or_404(EmergencyCall.objects.all(), request.user, Action.HANDLE_REQUESTS, pk=call_id)
    _attempt(
        request,
        lambda: services.emergency_outcome(
            actor=request.user,
            call=call,
            outcome=request.POST.get("outcome", ""),
            note=request.POST.get("note", ""),
            hospital=request.POST.get("hospital", ""),
        ),
        _("已记录结果"),
    )
    return redirect("care:trips")


# Visits -------------------------------------------------------------------------------------


@login_required
def visits(request):
    _require(request.user, Action.VIEW_REQUESTS)
    mine = request.GET.get("mine") == "1"
    plans = selectors.visit_plans(user=request.user, visitor=request.user if mine else None)
    missed_ids = set(selectors.missed_visits(user=request.user).values_list("pk", flat=True))
    # Least recently checked first: the missed ones lead.
    page = paginate(request, plans.order_by(F("last_visit_at").asc(nulls_first=True), "created_at", "id"), per_page=20)
    today = timezone.localdate()
    for plan in page.object_list:
        plan.missed = plan.pk in missed_ids
        plan.due = plan.next_due()
        plan.due_today = plan.due <= today
    manage = can(request.user, Action.MANAGE_CARE)
    nb = _neighbourhood(request.user, Action.VIEW_REQUESTS)
    return render(
        request,
        "care/visits.html",
        {
            "page": page,
            "missed": len(missed_ids),
            "mine": mine,
            "manage": manage,
            "may_record": can(request.user, Action.HANDLE_REQUESTS),
            "findings": VisitFinding.choices,
            "modes": VisitMode.choices,
            "handlers": _handlers(nb.pk) if manage else [],
        },
    )


@login_required
@require_POST
def visits_sync(request):
    nb = _neighbourhood(request.user, Action.MANAGE_CARE)
    n = services.visit_plans_sync(actor=request.user, neighbourhood_id=nb.pk)
    messages.success(request, _("已生成 %(n)s 个新的走访计划") % {"n": n})
    return redirect("care:visits")


@login_required
@require_POST
def visit_record(request, plan_id: int):
    plan = get_scoped_or_404(
        VisitPlan.objects.select_related("resident__household"), request.user, Action.HANDLE_REQUESTS, pk=plan_id
    )
    holder = {}

    def record():
        holder["visit"] = services.visit_record(
            actor=request.user, plan=plan, finding=request.POST.get("finding", ""), note=request.POST.get("note", "")
        )

    if _attempt(request, record, _("已登记走访")) and holder["visit"].request_id:
        messages.success(request, _("已转为诉求 #%(id)s") % {"id": holder["visit"].request_id})
    return redirect("core:home" if request.POST.get("next") == "home" else "care:visits")


@login_required
@require_POST
def visit_plan(request, plan_id: int):
    plan = get_scoped_or_404(VisitPlan.objects.all(), request.user, Action.MANAGE_CARE, pk=plan_id)
    visitor = _handlers(plan.neighbourhood_id).filter(pk=request.POST.get("visitor") or 0).first()
    try:
        every = int(request.POST.get("every_days", plan.every_days))
    except ValueError:
        every = 0
    _attempt(
        request,
        lambda: services.visit_plan_update(
            actor=request.user, plan=plan, visitor=visitor, every_days=every, mode=request.POST.get("mode", plan.mode)
        ),
        _("已保存走访计划"),
    )
    return redirect("care:visits")


# Psychological support ----------------------------------------------------------------------


@login_required
def support(request):
    _require(request.user, Action.VIEW_REQUESTS)
    nb = _neighbourhood(request.user, Action.VIEW_REQUESTS)
    manage = can(request.user, Action.MANAGE_CARE)
    group = SupportGroup.objects.filter(neighbourhood=nb).first()
    if request.method == "POST":
        if not manage:
            raise Http404
        if request.POST.get("remove"):
            member = SupportMember.objects.filter(group=group, pk=request.POST.get("remove") or 0).first()
            if member is not None:
                services.support_member_remove(actor=request.user, member=member)
                messages.success(request, _("已移出小组"))
        else:
            user = _handlers(nb.pk).filter(pk=request.POST.get("user") or 0).first() or (
                User.objects.filter(pk=request.POST.get("user") or 0, is_active=True, assignments__active=True)
                .filter(
                    Q(assignments__neighbourhood_id=nb.pk)
                    | Q(assignments__compound__neighbourhood_id=nb.pk)
                    | Q(assignments__building__neighbourhood_id=nb.pk)
                )
                .first()
            )
            if user is None:
                messages.error(request, _("请选择本居民区的工作人员或志愿者"))
            else:
                _attempt(
                    request,
                    lambda: services.support_member_add(
                        actor=request.user, neighbourhood_id=nb.pk, user=user, role=request.POST.get("role", "")
                    ),
                    _("已加入小组"),
                )
        return redirect("care:support")
    members = list(group.members.select_related("user").order_by("role", "id")) if group else []
    candidates = (
        User.objects.filter(is_active=True, assignments__active=True)
        .filter(
            Q(assignments__neighbourhood_id=nb.pk)
            | Q(assignments__compound__neighbourhood_id=nb.pk)
            | Q(assignments__building__neighbourhood_id=nb.pk)
        )
        .distinct()
        .order_by("display_name", "username")
        if manage
        else []
    )
    return render(
        request,
        "care/support.html",
        {"group": group, "members": members, "manage": manage, "candidates": candidates, "roles": GroupRole.choices},
    )


# Suggestions --------------------------------------------------------------------------------


@login_required
def suggestions(request):
    _require(request.user, Action.MANAGE_SUGGESTIONS)
    show = request.GET.get("show", "open")
    groups = selectors.suggestion_groups(user=request.user, open_only=show == "open")
    return render(
        request,
        "care/suggestions.html",
        {
            "page": paginate(request, groups),
            "show": show,
            "open_groups": selectors.suggestion_groups(user=request.user, open_only=True),
        },
    )


@login_required
@require_POST
def suggestion_merge(request, group_id: int):
    group = selectors.suggestion_group_get(user=request.user, group_id=group_id)
    ids = [int(i) for i in request.POST.getlist("others") if i.isdigit()]
    others = list(selectors.suggestion_groups(user=request.user).filter(pk__in=ids))
    _attempt(
        request,
        lambda: services.group_merge(
            actor=request.user, group=group, others=others, title=request.POST.get("title", "")
        ),
        _("已归并为共性问题"),
    )
    return redirect(f"{_url('care:suggestions')}#group-{group.pk}")


@login_required
@require_POST
def suggestion_reply(request, group_id: int):
    group = selectors.suggestion_group_get(user=request.user, group_id=group_id)
    _attempt(
        request,
        lambda: services.group_reply(actor=request.user, group=group, text=request.POST.get("text", "")),
        _("已答复, 每位提出者的住户页面都能看到"),
    )
    return redirect("care:suggestions")


def _url(name: str) -> str:
    from django.urls import reverse

    return reverse(name)


# Settings -----------------------------------------------------------------------------------


@login_required
def settings_edit(request):
    nb = _neighbourhood(request.user, Action.MANAGE_CARE)
    current = services.settings_for(nb.pk)
    visits_initial = {f"visit_{tag}": current.visit_days.get(tag, 1) for tag in services.VISIT_TAGS}
    form = forms.SettingsForm(request.POST or None, instance=current, initial=visits_initial)
    if request.method == "POST" and form.is_valid():
        values = {f: form.cleaned_data[f] for f in forms.SettingsForm.Meta.fields}
        values["visit_days"] = {tag: form.cleaned_data[f"visit_{tag}"] for tag in services.VISIT_TAGS}
        services.settings_update(actor=request.user, settings=current, **values)
        messages.success(request, _("已保存"))
        return redirect("care:settings")
    return render(request, "care/settings.html", {"form": form, "neighbourhood": nb})
