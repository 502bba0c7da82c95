"""Staff pages of the gates app. Thin: resolve through the user's scope, call a service or selector."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from jiayuan.core.audit import audit_record
from jiayuan.core.exports import safe_row
from jiayuan.core.forms import apply_service_errors
from jiayuan.core.pagination import paginate
from jiayuan.core.permissions import Action
from jiayuan.core.qr import qr_svg
from jiayuan.core.scoping import can, get_scoped_or_404, restrict
from jiayuan.core.xlsx import Sheet, tables_xlsx, xlsx_response
from jiayuan.gates import forms, selectors, services, staffing
from jiayuan.gates.choices import Direction, ParcelStatus, Reason
from jiayuan.people.models import Resident
from jiayuan.places.models import Building, Compound, Household, Neighbourhood


def _require(user, action: str) -> None:
    if not can(user, action):
        raise Http404


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _buildings(user, action: str):
    return restrict(Building.objects.select_related("compound"), user, action).order_by(
        "compound__name", "sort_key", "number"
    )


def _household_at(user, action: str, building_id, unit: str, room: str) -> Household | None:
    building = restrict(Building.objects.all(), user, action).filter(pk=building_id).first()
    if building is None:
        return None
    return Household.objects.filter(building=building, unit=(unit or "").strip(), room=(room or "").strip()).first()


def _perms(user) -> dict[str, bool]:
    return {
        "pass_gate": can(user, Action.PASS_GATE),
        "manage": can(user, Action.MANAGE_GATES),
        "parcels": can(user, Action.HANDLE_PARCELS),
    }


# --- Today at the gate -------------------------------------------------------------------------


@login_required
def index(request):
    """今日门岗: live counts at the user's gates, each gate with its state, today's figures and who
    is on duty there (今日值守, ``staffing``)."""
    _require(request.user, Action.VIEW_GATES)
    today = timezone.localdate()
    gates = list(selectors.gate_list(user=request.user))
    per_gate = {}
    for nb_id in {g.neighbourhood_id for g in gates}:
        per_gate.update(selectors.daily_totals(neighbourhood_id=nb_id, days=[today]))
    with_staffing = len(gates) <= staffing.INDEX_MAX_GATES
    for g in gates:
        g.today = per_gate.get((g.pk, today), {})
        g.duties = staffing.for_gate(g, today) if with_staffing else None
    refusals = selectors.passage_list(user=request.user, day=today, allowed=False)[:10]
    context = {
        "counts": selectors.live_counts(user=request.user),
        "gates": gates,
        "refusals": refusals,
        "perms": _perms(request.user),
        "scan_gates": {g.pk for g in selectors.gate_list(user=request.user, action=Action.PASS_GATE)},
    }
    return render(request, "gates/index.html", context)


# --- The scan ----------------------------------------------------------------------------------


def _scan_context(request, gate, *, form=None, outcome=None, error="", residents=None) -> dict:
    return {
        "gate": gate,
        "form": form or forms.ScanForm(initial={"direction": request.GET.get("direction") or Direction.IN}),
        "outcome": outcome,
        "error": error,
        "residents": residents,
        "buildings": _buildings(request.user, Action.VIEW_ROSTER),
        "recent": selectors.passage_list(user=request.user, gate_id=gate.pk, day=timezone.localdate())[:8],
        "reasons": dict(Reason.choices),
    }


def _answer(request, gate, **kw):
    context = _scan_context(request, gate, **kw)
    if request.htmx:
        return render(request, "gates/scan.html#panel", context)
    return render(request, "gates/scan.html", context)


@login_required
def scan(request, gate_id: int):
    """The guard's one-scan page: a code (or a resident found by building and room), the
    direction, a temperature; the answer is green or red with the reason."""
    gate = selectors.gate_get(user=request.user, gate_id=gate_id, action=Action.PASS_GATE)
    residents = None
    building_id, room = _int(request.GET.get("building")), (request.GET.get("room") or "").strip()
    if building_id and room:
        household = _household_at(request.user, Action.VIEW_ROSTER, building_id, request.GET.get("unit", ""), room)
        residents = list(household.residents.order_by("id")) if household else []
    if request.method != "POST":
        return _answer(request, gate, residents=residents)
    form = forms.ScanForm(request.POST)
    if not form.is_valid():
        return _answer(request, gate, form=form, error=_("请扫码或输入后按回车"))
    data = form.cleaned_data
    resident = None
    if data["resident"]:
        resident = get_scoped_or_404(
            Resident.objects.select_related("household__building"),
            request.user,
            Action.VIEW_ROSTER,
            pk=data["resident"],
        )
    elif not data["code"]:
        return _answer(request, gate, form=form, error=_("请扫码或输入后按回车"))
    try:
        outcome = services.passage_record(
            actor=request.user,
            gate=gate,
            direction=data["direction"],
            resident_code=data["code"] if resident is None else "",
            resident=resident,
            temperature=data["temperature"],
            away=data["away"],
        )
    except ValidationError as exc:
        return _answer(request, gate, form=form, error=" ".join(exc.messages))
    fresh = forms.ScanForm(initial={"direction": data["direction"]})
    return _answer(request, gate, form=fresh, outcome=outcome)


@login_required
def visitor(request, gate_id: int):
    gate = selectors.gate_get(user=request.user, gate_id=gate_id, action=Action.PASS_GATE)
    buildings = _buildings(request.user, Action.PASS_GATE).filter(neighbourhood_id=gate.neighbourhood_id)
    form = forms.VisitorForm(request.POST or None, buildings=buildings)
    outcome = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        host = _household_at(request.user, Action.PASS_GATE, d["building"], d["unit"], d["room"])
        if host is None:
            form.add_error("room", _("没有找到该住户, 请核对楼栋、单元和室号"))
        else:
            try:
                outcome = services.passage_record(
                    actor=request.user,
                    gate=gate,
                    direction=d["direction"],
                    visitor={
                        "name": d["name"],
                        "phone": d["phone"],
                        "purpose": d["purpose"],
                        "host_household": host.pk,
                    },
                    temperature=d["temperature"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
    if outcome is not None:
        form = forms.VisitorForm(buildings=buildings)
    return render(request, "gates/visitor.html", {"gate": gate, "form": form, "outcome": outcome, "kind": "visitor"})


@login_required
def vehicle(request, gate_id: int):
    gate = selectors.gate_get(user=request.user, gate_id=gate_id, action=Action.PASS_GATE)
    form = forms.VehicleForm(request.POST or None)
    outcome = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            outcome = services.passage_record(
                actor=request.user,
                gate=gate,
                direction=d["direction"],
                vehicle={"plate": d["plate"], "purpose": d["purpose"]},
                temperature=d["temperature"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
    if outcome is not None:
        form = forms.VehicleForm()
    return render(request, "gates/visitor.html", {"gate": gate, "form": form, "outcome": outcome, "kind": "vehicle"})


@login_required
def returnee(request, gate_id: int):
    """A person arriving from outside: control's returnee record (and its quarantine), then in."""
    gate = selectors.gate_get(user=request.user, gate_id=gate_id, action=Action.PASS_GATE)
    form = forms.ReturneeForm(request.POST or None)
    result = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            who = services.resolve_code(gate, d["code"])
            if who.resident_id is None:
                raise ValidationError({"code": [services.MSG_UNKNOWN_CODE]})
            resident = get_scoped_or_404(
                Resident.objects.select_related("household__building"),
                request.user,
                Action.VIEW_ROSTER,
                pk=who.resident_id,
            )
            result = services.returnee_at_gate(
                actor=request.user,
                gate=gate,
                resident=resident,
                origin=d["origin"],
                origin_risk=d["origin_risk"],
                transport=d["transport"],
                transport_detail=d["transport_detail"],
                commitment_signed=d["commitment_signed"],
                temperature=d["temperature"],
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and "resident_code" in exc.error_dict:
                exc = ValidationError({"code": exc.error_dict["resident_code"]})
            apply_service_errors(form, exc)
    context = {"gate": gate, "form": form, "returnee": result[0] if result else None}
    context["outcome"] = result[1] if result else None
    return render(request, "gates/returnee.html", context)


# --- Gates: detail, state, creation, settings ---------------------------------------------------


@login_required
def gate_detail(request, gate_id: int):
    gate = selectors.gate_get(user=request.user, gate_id=gate_id)
    may_manage = can(request.user, Action.MANAGE_GATES, gate)
    form = forms.GateStateForm(
        request.POST or None,
        initial={
            "state": gate.state,
            "restriction": gate.restriction,
            "open_from": gate.open_from,
            "open_to": gate.open_to,
            "note": gate.note,
        },
    )
    if request.method == "POST":
        if not may_manage:
            raise Http404
        if form.is_valid():
            try:
                services.gate_set_state(actor=request.user, gate=gate, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("门岗状态已更新"))
                return redirect("gates:gate", gate.pk)
    context = {
        "gate": gate,
        "form": form,
        "may_manage": may_manage,
        "history": selectors.gate_history(gate=gate)[:30],
        "may_scan": can(request.user, Action.PASS_GATE, gate),
        "duties": staffing.for_gate(gate),
    }
    return render(request, "gates/gate.html", context)


@login_required
def gate_create(request):
    _require(request.user, Action.MANAGE_GATES)
    compounds = restrict(Compound.objects.all(), request.user, Action.MANAGE_GATES).order_by("name")
    form = forms.GateForm(request.POST or None, compounds=compounds)
    if request.method == "POST" and form.is_valid():
        compound = get_scoped_or_404(compounds, request.user, Action.MANAGE_GATES, pk=form.cleaned_data["compound"])
        try:
            gate = services.gate_create(
                actor=request.user, compound=compound, name=form.cleaned_data["name"], note=form.cleaned_data["note"]
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return redirect("gates:gate", gate.pk)
    return render(request, "gates/form.html", {"form": form, "title": _("添加门岗")})


@login_required
def settings_edit(request):
    nb = restrict(Neighbourhood.objects.order_by("code"), request.user, Action.MANAGE_GATES).first()
    if nb is None:
        raise Http404
    current = services.settings_for(nb.pk)
    fields = ("controlled_may_go_out", "pass_required", "presence_follows", "parcel_overdue_hours")
    form = forms.SettingsForm(request.POST or None, initial={f: getattr(current, f) for f in fields})
    if request.method == "POST" and form.is_valid():
        try:
            services.settings_update(actor=request.user, neighbourhood=nb, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("门岗设置已保存"))
            return redirect("gates:index")
    return render(request, "gates/form.html", {"form": form, "title": _("门岗设置"), "subtitle": nb.name})


# --- Passages ----------------------------------------------------------------------------------


@login_required
def passages(request):
    _require(request.user, Action.VIEW_GATES)
    day = parse_date(request.GET.get("date") or "") or timezone.localdate()
    gate_id = _int(request.GET.get("gate"))
    reason = request.GET.get("reason", "")
    if reason not in Reason.values:
        reason = ""
    allowed = {"1": True, "0": False}.get(request.GET.get("allowed", ""))
    qs = selectors.passage_list(user=request.user, gate_id=gate_id, day=day, allowed=allowed, reason=reason)
    if request.GET.get("format") == "xlsx":
        return _passages_xlsx(request, qs, day)
    context = {
        "page": paginate(request, qs),
        "day": day,
        "gates": selectors.gate_list(user=request.user),
        "gate_id": gate_id,
        "reason": reason,
        "reasons": Reason.choices,
        "allowed": request.GET.get("allowed", ""),
    }
    return render(request, "gates/passages.html", context)


def _who(p) -> str:
    return p.resident.name if p.resident_id else p.who_masked


def _passages_xlsx(request, qs, day):
    rows = [
        safe_row(
            [
                timezone.localtime(p.at).strftime("%H:%M:%S"),
                p.gate.name,
                p.get_direction_display(),
                p.get_subject_display(),
                _who(p),
                p.building.name if p.building_id else "",
                str(p.temperature or ""),
                _("放行") if p.allowed else _("拒绝"),
                p.get_reason_display() if p.reason else "",
                p.purpose or p.get_vehicle_purpose_display(),
            ]
        )
        for p in qs[:20000]
    ]
    with transaction.atomic():
        audit_record(
            actor=request.user, action="gates.passages_export", object_repr=str(day), changes={"rows": len(rows)}
        )
    header = [
        _("时间"),
        pgettext("one gate", "门岗"),
        _("方向"),
        _("通行人"),
        _("姓名/车牌"),
        _("楼栋"),
        _("体温"),
        _("结果"),
        _("原因"),
        _("事由"),
    ]
    data = tables_xlsx([Sheet(name=_("出入记录"), header=header, rows=rows, title=f"{_('出入记录')} {day}")])
    return xlsx_response(data, f"出入记录-{day}.xlsx")


# --- Passes ------------------------------------------------------------------------------------


@login_required
def passes(request):
    _require(request.user, Action.VIEW_GATES)
    may_issue = can(request.user, Action.MANAGE_GATES)
    buildings = _buildings(request.user, Action.MANAGE_GATES) if may_issue else Building.objects.none()
    today = timezone.localdate()
    form = forms.PassForm(
        request.POST or None,
        buildings=buildings,
        initial={"valid_from": today, "valid_to": today + dt.timedelta(days=13)},
    )
    if request.method == "POST":
        if not may_issue:
            raise Http404
        if form.is_valid():
            d = form.cleaned_data
            household = _household_at(request.user, Action.MANAGE_GATES, d["building"], d["unit"], d["room"])
            if household is None:
                form.add_error("room", _("没有找到该住户, 请核对楼栋、单元和室号"))
            else:
                try:
                    p = services.pass_issue(
                        actor=request.user,
                        household=household,
                        kind=d["kind"],
                        employer=d["employer"],
                        valid_from=d["valid_from"],
                        valid_to=d["valid_to"],
                        quota=d["quota"],
                        period_days=d["period_days"],
                    )
                except ValidationError as exc:
                    apply_service_errors(form, exc)
                else:
                    messages.success(request, _("通行证已发放: %(code)s") % {"code": p.code})
                    return redirect("gates:pass_card", p.pk)
    context = {
        "page": paginate(request, selectors.pass_list(user=request.user, current=request.GET.get("all") != "1")),
        "form": form,
        "may_issue": may_issue,
        "today": today,
    }
    return render(request, "gates/passes.html", context)


@login_required
def pass_card(request, pass_id: int):
    """A printable pass card with its QR code (scanned at the gate like a sampling code)."""
    p = selectors.pass_get(user=request.user, pass_id=pass_id)
    context = {"p": p, "qr": qr_svg(p.code, scale=6), "may_manage": can(request.user, Action.MANAGE_GATES, p)}
    return render(request, "gates/pass_card.html", context)


@login_required
@require_POST
def pass_revoke(request, pass_id: int):
    p = selectors.pass_get(user=request.user, pass_id=pass_id, action=Action.MANAGE_GATES)
    services.pass_revoke(actor=request.user, pass_=p)
    messages.success(request, _("通行证已作废"))
    return redirect("gates:passes")


# --- Parcels -----------------------------------------------------------------------------------


def _parcel_household(request, d) -> Household | None:
    if d.get("building") and d.get("room"):
        return _household_at(request.user, Action.HANDLE_PARCELS, d["building"], d["unit"], d["room"])
    if d.get("phone_last4"):
        matches = list(
            restrict(Household.objects.all(), request.user, Action.HANDLE_PARCELS)
            .filter(residents__phone_last4=d["phone_last4"])
            .distinct()[:2]
        )
        return matches[0] if len(matches) == 1 else None
    return None


@login_required
def parcels(request):
    """Parcels at the gate: register, disinfect, hand out with the code; overdue ones stand out."""
    _require(request.user, Action.HANDLE_PARCELS)
    buildings = _buildings(request.user, Action.HANDLE_PARCELS)
    form = forms.ParcelForm(request.POST or None, buildings=buildings)
    if request.method == "POST" and form.is_valid():
        household = _parcel_household(request, form.cleaned_data)
        if household is None:
            form.add_error(None, _("没有找到唯一的住户: 请填楼栋和室号, 或收件人手机尾号(多户同尾号时请填房号)"))
        else:
            parcel = services.parcel_register(
                actor=request.user,
                household=household,
                carrier=form.cleaned_data["carrier"],
                note=form.cleaned_data["note"],
            )
            messages.success(
                request,
                _("已登记 %(place)s 的快递, 取件码 %(code)s")
                % {"place": f"{household.building.name} {household.label}", "code": parcel.pickup_code},
            )
            return redirect("gates:parcels")
    status = request.GET.get("status", "")
    if status not in ParcelStatus.values:
        status = ""
    qs = selectors.parcel_list(user=request.user, waiting=not status, status=status).select_related(
        "building__compound"
    )
    page = paginate(request, qs)
    selectors.mark_parcels(list(page.object_list))
    context = {"form": form, "page": page, "status": status, "statuses": ParcelStatus.choices}
    return render(request, "gates/parcels.html", context)


@login_required
@require_POST
def parcel_action(request, parcel_id: int, action: str):
    parcel = selectors.parcel_get(user=request.user, parcel_id=parcel_id)
    steps = {
        "disinfect": lambda: services.parcel_disinfect(actor=request.user, parcel=parcel),
        "deliver": lambda: services.parcel_deliver(actor=request.user, parcel=parcel),
        "pickup": lambda: services.parcel_pickup(actor=request.user, parcel=parcel, code=request.POST.get("code", "")),
    }
    if action not in steps:
        raise Http404
    try:
        steps[action]()
    except services.GateConflict as exc:
        messages.error(request, exc.message)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已更新"))
    return redirect("gates:deliveries" if request.POST.get("next") == "deliveries" else "gates:parcels")


@login_required
def deliveries(request):
    """Per building, the disinfected parcels to carry to the doors (printable, for volunteers)."""
    _require(request.user, Action.HANDLE_PARCELS)
    return render(request, "gates/deliveries.html", {"buildings": selectors.delivery_list(user=request.user)})
