"""Staff pages for supplies. Thin: resolve through the user's scope, call a service or selector."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiayuan.core.forms import apply_service_errors
from jiayuan.core.pagination import paginate
from jiayuan.core.permissions import Action
from jiayuan.core.replicas import replica_ok
from jiayuan.core.scoping import can, get_scoped_or_404, restrict
from jiayuan.places.models import Building, Compound, Household, Neighbourhood
from jiayuan.supplies import exports, forms, selectors, services
from jiayuan.supplies.choices import READY, READY_LABEL, GroupBuyStatus, LeaderStatus, SelectionMode
from jiayuan.supplies.models import Booking, GroupBuy, Order

S = GroupBuyStatus


def _require(user, action: str, obj=None) -> None:
    if not can(user, action, obj):
        raise Http404


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _neighbourhood_for(user, action: str) -> Neighbourhood:
    nb = restrict(Neighbourhood.objects.order_by("code"), user, action).first()
    if nb is None:
        raise Http404
    return nb


def _attempt(request, fn: Callable, success: str) -> bool:
    """Run a service; flash its success or its (Chinese) errors."""
    try:
        fn()
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return False
    messages.success(request, success)
    return True


def _household_at(building: Building, unit: str, room: str) -> Household | None:
    return Household.objects.filter(building=building, unit=(unit or "").strip(), room=(room or "").strip()).first()


# Overview ----------------------------------------------------------------------------------


@login_required
@replica_ok  # lag of a few seconds is fine here; see core.replicas
def index(request):
    _require(request.user, Action.VIEW_SUPPLIES)
    status = request.GET.get("status", "")
    if status not in (*S.values, READY):
        status = ""
    group_buys = selectors.group_buy_list(user=request.user, status=status)
    statuses = [(s, label) for s, label in S.choices if s != S.DISINFECTED]
    statuses.insert(5, (S.DISINFECTED, S.DISINFECTED.label))
    statuses.insert(6, (READY, READY_LABEL))
    leaders = selectors.leader_list(user=request.user)
    context = {
        "page": paginate(request, group_buys),
        "status": status,
        "statuses": statuses,
        "pending_leaders": leaders.filter(status=LeaderStatus.PENDING).count(),
        "bidding": len(selectors.bidding_groups(user=request.user)),
        "low_stock": [s for s in selectors.stock_list(user=request.user) if s.is_low],
        "perms": _perms(request.user),
    }
    return render(request, "supplies/index.html", context)


def _perms(user) -> dict[str, bool]:
    return {
        name: can(user, action)
        for name, action in {
            "review": Action.REVIEW_LEADERS,
            "manage": Action.MANAGE_GROUP_BUYS,
            "proxy": Action.PROXY_ORDER,
            "receive": Action.RECEIVE_GOODS,
            "deliver": Action.DELIVER_GOODS,
            "handouts": Action.MANAGE_HANDOUTS,
            "appointments": Action.MANAGE_APPOINTMENTS,
        }.items()
    }


@login_required
def settings_edit(request):
    nb = _neighbourhood_for(request.user, Action.MANAGE_GROUP_BUYS)
    current = services.settings_for(nb.pk)
    form = forms.SettingsForm(
        request.POST or None,
        initial={
            "selection_mode": current.selection_mode,
            "rest_minutes": current.rest_minutes,
            "daily_limit_per_category": current.daily_limit_per_category,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.settings_update(actor=request.user, neighbourhood=nb, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("设置已保存"))
            if form.cleaned_data["rest_minutes"] < current.rest_minutes:
                messages.warning(
                    request,
                    _("静置时间已缩短为 %(n)d 分钟:只对之后登记的消杀生效,正在静置的物资仍按原来的时间。")
                    % {"n": form.cleaned_data["rest_minutes"]},
                )
            return redirect("supplies:index")
    return render(request, "supplies/settings.html", {"form": form, "neighbourhood": nb})


# Leaders -----------------------------------------------------------------------------------


@login_required
def leader_list(request):
    _require(request.user, Action.VIEW_SUPPLIES)
    status = request.GET.get("status", "")
    status = status if status in LeaderStatus.values else ""
    leaders = selectors.leader_list(user=request.user, status=status)
    return render(
        request,
        "supplies/leader_list.html",
        {
            "page": paginate(request, leaders),
            "status": status,
            "statuses": LeaderStatus.choices,
            "can_register": can(request.user, Action.REVIEW_LEADERS),
            "today": timezone.localdate(),
        },
    )


@login_required
def leader_create(request):
    _require(request.user, Action.REVIEW_LEADERS)
    buildings = restrict(Building.objects.select_related("compound"), request.user, Action.REVIEW_LEADERS)
    form = forms.StaffLeaderForm(request.POST or None, request.FILES or None, buildings=buildings)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        household = _household_at(d["building"], d["unit"], d["room"])
        if household is None:
            form.add_error("room", _("该楼栋没有这个单元室号"))
        else:
            try:
                leader = services.leader_apply(
                    actor=request.user,
                    household=household,
                    name=d["name"],
                    phone=d["phone"],
                    channel=d["channel"],
                    note=d["note"],
                    documents=form.documents(),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("已登记团长申请,等待审核"))
                return redirect("supplies:leader", leader_id=leader.pk)
    return render(request, "supplies/leader_form.html", {"form": form})


@login_required
def leader_detail(request, leader_id: int):
    leader = selectors.leader_get(user=request.user, leader_id=leader_id)
    return render(
        request,
        "supplies/leader_detail.html",
        {
            "leader": leader,
            "documents": leader.documents.all(),
            "group_buys": leader.group_buys.order_by("-delivery_date")[:20],
            "can_review": can(request.user, Action.REVIEW_LEADERS, leader),
            "can_propose": can(request.user, Action.MANAGE_GROUP_BUYS, leader) and leader.is_active(),
            "review_form": forms.ReviewForm(),
            "document_form": forms.DocumentForm(),
            "today": timezone.localdate(),
        },
    )


@login_required
@require_POST
def leader_review(request, leader_id: int):
    leader = selectors.leader_get(user=request.user, leader_id=leader_id, action=Action.REVIEW_LEADERS)
    approve = request.POST.get("decision") == "approve"
    reason = request.POST.get("reason", "")[:1000]
    _attempt(
        request,
        lambda: services.leader_review(actor=request.user, leader=leader, approve=approve, reason=reason),
        _("已通过审核") if approve else _("已驳回"),
    )
    return redirect("supplies:leader", leader_id=leader.pk)


@login_required
@require_POST
def leader_document_add(request, leader_id: int):
    leader = selectors.leader_get(user=request.user, leader_id=leader_id, action=Action.REVIEW_LEADERS)
    form = forms.DocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, e)
        return redirect("supplies:leader", leader_id=leader.pk)
    d = form.cleaned_data
    _attempt(
        request,
        lambda: services.leader_document_add(
            actor=request.user,
            leader=leader,
            kind=d["kind"],
            number=d["number"],
            expires_on=d["expires_on"],
            filename=d["file"].name,
            data=d["file"].read(),
        ),
        _("证件已上传"),
    )
    return redirect("supplies:leader", leader_id=leader.pk)


@login_required
def document_download(request, document_id: int):
    doc = selectors.document_get(user=request.user, document_id=document_id)
    services.leader_document_open(actor=request.user, document=doc)
    response = HttpResponse(bytes(doc.data), content_type=doc.content_type)
    response["Content-Disposition"] = f'inline; filename="document-{doc.pk}{forms_ext(doc.content_type)}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def forms_ext(content_type: str) -> str:
    from jiayuan.supplies.models import ALLOWED_DOCUMENT_TYPES

    return ALLOWED_DOCUMENT_TYPES.get(content_type, "")


@login_required
def group_buy_propose(request, leader_id: int):
    leader = selectors.leader_get(user=request.user, leader_id=leader_id, action=Action.MANAGE_GROUP_BUYS)
    form = forms.ProposalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            gb = services.group_buy_propose(
                actor=request.user,
                leader=leader,
                **form.proposal(),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("已提交团购方案,进入比价"))
            return redirect("supplies:group_buy", group_buy_id=gb.pk)
    return render(request, "supplies/proposal_form.html", {"form": form, "leader": leader})


# Bidding -----------------------------------------------------------------------------------


@login_required
def bidding(request):
    _require(request.user, Action.VIEW_SUPPLIES)
    groups = selectors.bidding_groups(user=request.user)
    firsts = [g["proposals"][0].pk for g in groups]
    manageable = set(
        restrict(GroupBuy.objects.filter(pk__in=firsts), request.user, Action.MANAGE_GROUP_BUYS).values_list(
            "pk", flat=True
        )
    )
    nb_modes = {}
    for g in groups:
        nb_id = g["proposals"][0].neighbourhood_id
        if nb_id not in nb_modes:
            nb_modes[nb_id] = services.settings_for(nb_id).selection_mode
        g["mode"] = nb_modes[nb_id]
        g["can_manage"] = g["proposals"][0].pk in manageable
    return render(
        request,
        "supplies/bidding.html",
        {"groups": groups, "VOTE": SelectionMode.VOTE, "COMMITTEE": SelectionMode.COMMITTEE},
    )


# One group buy -----------------------------------------------------------------------------


@login_required
def group_buy_detail(request, group_buy_id: int):
    gb = selectors.group_buy_get(user=request.user, group_buy_id=group_buy_id)
    return _group_buy_page(request, gb)


def _group_buy_page(request, gb, **bound_forms):
    """The group buy page; ``bound_forms`` replace the empty ones to show a refused form's errors."""
    orders = selectors.order_list(user=request.user, group_buy=gb)
    perms = {name: can(request.user, action, gb) for name, action in _ACTIONS.items()}
    context = {
        "gb": gb,
        "items": gb.items.all(),
        "page": paginate(request, orders, per_page=20),
        "perms": perms,
        "can_pay": can(request.user, Action.MANAGE_GROUP_BUYS, gb),
        "buildings": selectors.sorting_buildings(user=request.user, group_buy=gb),
        "issues": gb.issues.select_related("household__building").all()[:50],
        "arrive_form": forms.ArrivalForm(),
        "disinfect_form": forms.DisinfectForm(),
        "reason_form": forms.ReasonForm(),
        "issue_form": forms.IssueForm(),
        "selection_mode": services.settings_for(gb.neighbourhood_id).selection_mode,
        "S": S,
        "can_proxy": gb.status == S.OPEN and can(request.user, Action.PROXY_ORDER, gb),
        "documents_valid_until": gb.leader.documents_valid_until(),
        **bound_forms,
    }
    return render(request, "supplies/group_buy_detail.html", context)


_ACTIONS = {
    "manage": Action.MANAGE_GROUP_BUYS,
    "receive": Action.RECEIVE_GOODS,
    "deliver": Action.DELIVER_GOODS,
}

_TRANSITIONS = {
    "pick": (Action.MANAGE_GROUP_BUYS, services.group_buy_pick, _("已选定该方案")),
    "tally": (Action.MANAGE_GROUP_BUYS, services.bidding_close_vote, _("投票已统计,得票最多的方案已选定")),
    "open": (Action.MANAGE_GROUP_BUYS, services.group_buy_open, _("已开团,住户可以接龙下单")),
    "close": (Action.MANAGE_GROUP_BUYS, services.group_buy_close, _("已截单")),
    "sort": (Action.DELIVER_GOODS, services.group_buy_sort, _("已分拣完成")),
}


@login_required
@require_POST
def group_buy_action(request, group_buy_id: int, action: str):
    gb = selectors.group_buy_get(user=request.user, group_buy_id=group_buy_id)
    if action in _TRANSITIONS:
        permission, fn, success = _TRANSITIONS[action]
        _require(request.user, permission, gb)
        _attempt(request, lambda: fn(actor=request.user, group_buy=gb), success)
    elif action in ("reject", "cancel"):
        _require(request.user, Action.MANAGE_GROUP_BUYS, gb)
        form = forms.ReasonForm(request.POST)
        reason = request.POST.get("reason", "")[:500]
        fn = services.group_buy_reject if action == "reject" else services.group_buy_cancel
        if form.is_valid() or not reason:
            _attempt(
                request,
                lambda: fn(actor=request.user, group_buy=gb, reason=reason),
                _("已驳回") if action == "reject" else _("已取消"),
            )
    elif action in ("arrive", "disinfect"):
        _require(request.user, Action.RECEIVE_GOODS, gb)
        if action == "arrive":
            form = forms.ArrivalForm(request.POST)
            call, success = services.group_buy_arrive, lambda _gb: _("已登记到货并放行")
        else:
            form = forms.DisinfectForm(request.POST)
            call, success = services.group_buy_disinfect, _disinfected_message
        if _submitted(request, form, lambda d: call(actor=request.user, group_buy=gb, **d), success):
            return redirect("supplies:group_buy", group_buy_id=gb.pk)
        return _group_buy_page(request, gb, **{f"{action}_form": form})  # the errors beside their fields
    elif action == "issue":
        _require(request.user, Action.MANAGE_GROUP_BUYS, gb)
        form = forms.IssueForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            _attempt(
                request,
                lambda: services.issue_record(
                    actor=request.user, group_buy=gb, kind=d["kind"], text=d["text"], refund_amount=d["refund_amount"]
                ),
                _("已登记"),
            )
        else:
            _flash_form_errors(request, form)
    else:
        raise Http404
    return redirect("supplies:group_buy", group_buy_id=gb.pk)


def _disinfected_message(gb) -> str:
    return _("已登记消杀,静置到 %(t)s 后可分拣") % {"t": timezone.localtime(gb.ready_at).strftime("%H:%M")}


def _submitted(request, form, call: Callable, success: Callable) -> bool:
    """Validate ``form`` and call the service with its data; a refusal goes beside the fields."""
    if not form.is_valid():
        return False
    try:
        result = call(form.cleaned_data)
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return False
    messages.success(request, success(result))
    return True


def _flash_form_errors(request, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for e in errors:
            messages.error(request, f"{label}:{e}" if label else e)


@login_required
@require_POST
def order_paid(request, order_id: int):
    order = get_scoped_or_404(
        Order.objects.select_related("group_buy"), request.user, Action.MANAGE_GROUP_BUYS, pk=order_id
    )
    paid = request.POST.get("paid") == "1"
    services.order_set_paid(actor=request.user, order=order, paid=paid)
    if request.htmx:
        order.paid = paid
        return render(request, "supplies/group_buy_detail.html#paid", {"o": order, "can_pay": True})
    return redirect("supplies:group_buy", group_buy_id=order.group_buy_id)


@login_required
@require_POST
def order_cancel(request, order_id: int):
    order = get_scoped_or_404(Order.objects.all(), request.user, Action.MANAGE_GROUP_BUYS, pk=order_id)
    _attempt(request, lambda: services.order_cancel(actor=request.user, order=order), _("订单已取消"))
    return redirect("supplies:group_buy", group_buy_id=order.group_buy_id)


@login_required
def proxy_order(request, group_buy_id: int):
    gb = selectors.group_buy_get(user=request.user, group_buy_id=group_buy_id)
    if not (can(request.user, Action.PROXY_ORDER, gb) or can(request.user, Action.MANAGE_GROUP_BUYS, gb)):
        raise Http404
    residents = selectors.resident_choices_for_proxy(user=request.user).filter(
        household__building__compound_id=gb.compound_id
    )
    items = list(gb.items.all())
    form = forms.ProxyOrderForm(
        request.POST or None,
        items=items,
        residents=residents,
        initial={"idempotency_key": f"proxy-{request.user.pk}-{timezone.now().timestamp()}"},
    )
    if request.method == "POST" and form.is_valid():
        resident = form.cleaned_data["resident"]
        try:
            services.order_place_by_staff(
                actor=request.user,
                group_buy=gb,
                household=resident.household,
                resident=resident,
                quantities=form.quantities(),
                delivery_mode=form.cleaned_data["delivery_mode"],
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("已为 %(name)s 代下单") % {"name": resident.name})
            return redirect("supplies:group_buy", group_buy_id=gb.pk)
    return render(request, "supplies/proxy_order.html", {"gb": gb, "form": form, "has_residents": residents.exists()})


# Sorting and delivery ----------------------------------------------------------------------


@login_required
@replica_ok  # lag of a few seconds is fine here; see core.replicas
def sorting(request, group_buy_id: int):
    gb = selectors.group_buy_get(user=request.user, group_buy_id=group_buy_id)
    building_id = _int(request.GET.get("building"))
    sheet = selectors.sorting_sheet(user=request.user, group_buy=gb, building_id=building_id)
    if request.GET.get("format") == "xlsx":
        data = exports.sorting_xlsx(sheet)
        services.export_record(actor=request.user, kind="sorting", households=sheet["households"], group_buy=gb)
        response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response["Content-Disposition"] = f'attachment; filename="sorting-{gb.pk}.xlsx"'
        return response
    return render(
        request,
        "supplies/sorting.html",
        {
            "gb": gb,
            "sheet": sheet,
            "building_id": building_id,
            "all_buildings": selectors.sorting_buildings(user=request.user, group_buy=gb),
            "can_deliver": can(request.user, Action.DELIVER_GOODS, gb) and gb.status in (S.DISINFECTED, S.SORTED),
            "ready": gb.is_ready,
        },
    )


@login_required
@require_POST
def building_deliver(request, group_buy_id: int, building_id: int):
    gb = selectors.group_buy_get(user=request.user, group_buy_id=group_buy_id)
    building = get_scoped_or_404(Building.objects.all(), request.user, Action.DELIVER_GOODS, pk=building_id)
    form = forms.DeliverForm(request.POST)
    bags = _int(request.POST.get("bags")) or 0
    note = request.POST.get("note", "")[:200] if form.is_valid() else ""
    _attempt(
        request,
        lambda: services.building_deliver(actor=request.user, group_buy=gb, building=building, bags=bags, note=note),
        _("%(building)s 已签收") % {"building": building.name},
    )
    nxt = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        nxt = f"{_sorting_url(gb)}?building={building.pk}"
    return redirect(nxt)


def _sorting_url(gb) -> str:
    from django.urls import reverse

    return reverse("supplies:sorting", args=[gb.pk])


@login_required
@replica_ok  # lag of a few seconds is fine here; see core.replicas
def checklist(request):
    _require(request.user, Action.DELIVER_GOODS)
    entries = selectors.delivery_checklist(user=request.user)
    if request.GET.get("format") == "xlsx":
        data = exports.checklist_xlsx(entries, str(request.user))
        households = sum(b["households"] for e in entries for b in e["buildings"])
        services.export_record(actor=request.user, kind="checklist", households=households)
        response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response["Content-Disposition"] = 'attachment; filename="checklist.xlsx"'
        return response
    return render(request, "supplies/checklist.html", {"entries": entries})


# Handouts ----------------------------------------------------------------------------------


@login_required
def handout_list(request):
    _require(request.user, Action.VIEW_SUPPLIES)
    form = None
    if can(request.user, Action.MANAGE_HANDOUTS):
        nb = _neighbourhood_for(request.user, Action.MANAGE_HANDOUTS)
        compounds = restrict(Compound.objects.filter(neighbourhood=nb), request.user, Action.MANAGE_HANDOUTS)
        form = forms.HandoutRoundForm(request.POST or None, compounds=compounds)
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            try:
                rnd = services.handout_round_create(
                    actor=request.user,
                    neighbourhood=nb,
                    title=d["title"],
                    package=d["package"],
                    unit=d["unit"],
                    compound=d["compound"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("已创建发放轮次"))
                return redirect("supplies:handout", round_id=rnd.pk)
    rounds = selectors.handout_round_list(user=request.user)
    return render(request, "supplies/handout_list.html", {"page": paginate(request, rounds), "form": form})


def _can_tick(user, rnd) -> bool:
    return can(user, Action.MANAGE_HANDOUTS, rnd) or can(user, Action.DELIVER_GOODS, rnd)


@login_required
def handout_detail(request, round_id: int):
    rnd = selectors.handout_round_get(user=request.user, round_id=round_id)
    building_id = _int(request.GET.get("building"))
    blocks = selectors.handout_progress(user=request.user, round=rnd, building_id=building_id)
    buildings = blocks if not building_id else selectors.handout_progress(user=request.user, round=rnd)
    expected = sum(b["expected"] for b in buildings)
    received = sum(b["received"] for b in buildings)
    return render(
        request,
        "supplies/handout_detail.html",
        {
            "round": rnd,
            "blocks": blocks,
            "buildings": buildings,
            "expected": expected,
            "received": received,
            "building_id": building_id,
            "can_mark": _can_tick(request.user, rnd),
        },
    )


def _handout_tick(request, round_id: int, *, undo: bool):
    """Tick (or undo the tick of) one household or resident. With htmx the answer is the row
    in its new state plus the building's and the round's counts (out of band), so the page stays
    where it is; without, a redirect back to the building's section."""
    rnd = selectors.handout_round_get(user=request.user, round_id=round_id)
    if not _can_tick(request.user, rnd):
        raise Http404
    action = Action.MANAGE_HANDOUTS if can(request.user, Action.MANAGE_HANDOUTS, rnd) else Action.DELIVER_GOODS
    household = get_scoped_or_404(
        Household.objects.select_related("building"), request.user, action, pk=_int(request.POST.get("household"))
    )
    resident = None
    if request.POST.get("resident"):
        resident = household.residents.filter(pk=_int(request.POST.get("resident"))).first()
    label = f"{household.building.name} {household.label}"
    if resident is not None:
        label += f" {resident.name}"
    error = ""
    try:
        if undo:
            services.handout_unmark_received(actor=request.user, round=rnd, household=household, resident=resident)
        else:
            services.handout_mark_received(actor=request.user, round=rnd, household=household, resident=resident)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if not request.htmx:
        if error:
            messages.error(request, error)
        elif undo:
            messages.success(request, _("已撤销领取:%(h)s") % {"h": label})
        else:
            messages.success(request, _("已登记领取:%(h)s") % {"h": label})
        building = _int(request.POST.get("building_filter"))
        url = redirect("supplies:handout", round_id=rnd.pk).url
        query = f"?building={building}" if building else ""
        return redirect(f"{url}{query}#building-{household.building_id}")  # back where the tick was
    everything = selectors.handout_progress(user=request.user, round=rnd)
    block = next((b for b in everything if b["building"].pk == household.building_id), None)
    want = resident.pk if resident is not None else None
    row = next(
        (
            r
            for r in (block["rows"] if block else [])
            if r["household"].pk == household.pk and (r["resident"].pk if r["resident"] else None) == want
        ),
        None,
    )
    context = {
        "round": rnd,
        "can_mark": True,
        "building_id": _int(request.POST.get("building_filter")),
        "m": row,
        "b": block,
        "error": error,
        "oob": True,
        "expected": sum(b["expected"] for b in everything),
        "received": sum(b["received"] for b in everything),
        "notice": error or ((_("已撤销领取:%(h)s") if undo else _("已登记领取:%(h)s")) % {"h": label}),
    }
    names = ["total", "notice"]
    if row is not None:
        names += ["row", "progress", "chip"] if len(everything) > 1 else ["row", "progress"]
    html = "".join(render_to_string(f"supplies/handout_detail.html#{name}", context, request=request) for name in names)
    response = HttpResponse(html)
    if row is None:  # nothing of this page to replace: leave the row as it is, show the message
        response["HX-Reswap"] = "none"
    return response


@login_required
@require_POST
def handout_receive(request, round_id: int):
    return _handout_tick(request, round_id, undo=False)


@login_required
@require_POST
def handout_undo(request, round_id: int):
    return _handout_tick(request, round_id, undo=True)


# Stock -------------------------------------------------------------------------------------


@login_required
def stock(request):
    _require(request.user, Action.VIEW_SUPPLIES)
    manage = can(request.user, Action.MANAGE_HANDOUTS)
    form = forms.DonationForm(request.POST or None) if manage else None
    if manage and request.method == "POST" and form.is_valid():
        nb = _neighbourhood_for(request.user, Action.MANAGE_HANDOUTS)
        try:
            services.donation_record(
                actor=request.user,
                neighbourhood=nb,
                donor=form.cleaned_data["donor"],
                note=form.cleaned_data["note"],
                lines=form.lines(),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("捐赠已入库"))
            return redirect("supplies:stock")
    return render(
        request,
        "supplies/stock.html",
        {"items": selectors.stock_list(user=request.user), "form": form, "manage": manage},
    )


@login_required
def stock_detail(request, stock_id: int):
    item = selectors.stock_get(user=request.user, stock_id=stock_id, action=Action.VIEW_SUPPLIES)
    manage = can(request.user, Action.MANAGE_HANDOUTS, item)
    issue_form = forms.StockIssueForm(request.POST if request.POST.get("form") == "issue" else None)
    threshold_form = forms.ThresholdForm(
        request.POST if request.POST.get("form") == "threshold" else None, initial={"low_threshold": item.low_threshold}
    )
    if request.method == "POST":
        if not manage:
            raise Http404
        if issue_form.is_bound and issue_form.is_valid():
            try:
                services.stock_issue(actor=request.user, stock_item=item, **issue_form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(issue_form, exc)
            else:
                messages.success(request, _("已出库"))
                return redirect("supplies:stock_item", stock_id=item.pk)
        elif threshold_form.is_bound and threshold_form.is_valid():
            services.stock_set_threshold(actor=request.user, stock_item=item, **threshold_form.cleaned_data)
            messages.success(request, _("已保存"))
            return redirect("supplies:stock_item", stock_id=item.pk)
    movements = item.movements.select_related("donation", "actor", "to_household__building")
    return render(
        request,
        "supplies/stock_detail.html",
        {
            "item": item,
            "page": paginate(request, movements),
            "manage": manage,
            "issue_form": issue_form,
            "threshold_form": threshold_form,
        },
    )


# Appointments ------------------------------------------------------------------------------


@login_required
def campaign_list(request):
    _require(request.user, Action.VIEW_SUPPLIES)
    form = None
    if can(request.user, Action.MANAGE_APPOINTMENTS):
        form = forms.CampaignForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            nb = _neighbourhood_for(request.user, Action.MANAGE_APPOINTMENTS)
            try:
                campaign = services.campaign_create(actor=request.user, neighbourhood=nb, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                return redirect("supplies:campaign", campaign_id=campaign.pk)
    campaigns = selectors.campaign_list(user=request.user)
    return render(request, "supplies/campaign_list.html", {"campaigns": campaigns, "form": form})


@login_required
def campaign_detail(request, campaign_id: int):
    campaign = selectors.campaign_get(user=request.user, campaign_id=campaign_id)
    manage = can(request.user, Action.MANAGE_APPOINTMENTS, campaign)
    book_allowed = manage or can(request.user, Action.PROXY_ORDER)
    window_form = forms.WindowForm(request.POST if request.POST.get("form") == "window" else None)
    buildings = restrict(
        Building.objects.filter(neighbourhood_id=campaign.neighbourhood_id).select_related("compound"),
        request.user,
        Action.MANAGE_APPOINTMENTS if manage else Action.PROXY_ORDER,
    )
    book_form = forms.StaffBookingForm(
        request.POST if request.POST.get("form") == "book" else None,
        windows=campaign.windows.filter(ends_at__gt=timezone.now()),
        buildings=buildings,
    )
    if request.method == "POST":
        if window_form.is_bound:
            if not manage:
                raise Http404
            if window_form.is_valid():
                try:
                    services.window_create(actor=request.user, campaign=campaign, **window_form.cleaned_data)
                except ValidationError as exc:
                    apply_service_errors(window_form, exc)
                else:
                    messages.success(request, _("已添加时段"))
                    return redirect("supplies:campaign", campaign_id=campaign.pk)
        elif book_form.is_bound:
            if not book_allowed:
                raise Http404
            if book_form.is_valid():
                d = book_form.cleaned_data
                household = _household_at(d["building"], d["unit"], d["room"])
                if household is None:
                    book_form.add_error("room", _("该楼栋没有这个单元室号"))
                else:
                    try:
                        booking = services.booking_create(
                            actor=request.user,
                            window=d["window"],
                            household=household,
                            quantity=d["quantity"],
                            mode=d["mode"],
                        )
                    except ValidationError as exc:
                        apply_service_errors(book_form, exc)
                    else:
                        messages.success(request, _("已预约,凭证号 %(v)s") % {"v": booking.voucher})
                        return redirect("supplies:campaign", campaign_id=campaign.pk)
    bookings = selectors.booking_list(user=request.user, campaign=campaign)
    return render(
        request,
        "supplies/campaign_detail.html",
        {
            "campaign": campaign,
            "windows": campaign.windows.all(),
            "page": paginate(request, bookings),
            "manage": manage,
            "book_allowed": book_allowed,
            "window_form": window_form,
            "book_form": book_form,
        },
    )


@login_required
@require_POST
def booking_collect(request, booking_id: int):
    booking = get_scoped_or_404(Booking.objects.all(), request.user, Action.MANAGE_APPOINTMENTS, pk=booking_id)
    by_proxy = request.POST.get("by_proxy") == "1"
    _attempt(
        request,
        lambda: services.booking_collect(actor=request.user, booking=booking, by_proxy=by_proxy),
        _("已由志愿者代领") if by_proxy else _("已领取"),
    )
    return redirect("supplies:campaign", campaign_id=booking.campaign_id)
