"""Control pages. Thin: resolve through the user's scope, call a service or selector, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiayuan.control import selectors, services, sharing
from jiayuan.control.choices import (
    CASE_TRANSITIONS,
    CaseStatus,
    HouseholdMark,
    QuarantineKind,
    QuarantineReason,
    QuarantineStatus,
    Slot,
    ZoneLevel,
    ZoneUnit,
)
from jiayuan.control.forms import (
    MAX_ID,
    CaseForm,
    ContactForm,
    HealthCheckForm,
    HotlineForm,
    OverrideForm,
    PolicyForm,
    PresetForm,
    QuarantineForm,
    QuarantineTestForm,
    ReleaseForm,
    ReturneeForm,
    TransferForm,
    TransitionForm,
    VoidForm,
    ZoneSettingsForm,
)
from jiayuan.control.models import Contact, Quarantine, ZoneOverride
from jiayuan.control.policies import PRESETS
from jiayuan.core.forms import apply_service_errors
from jiayuan.core.pagination import paginate
from jiayuan.core.permissions import Action
from jiayuan.core.replicas import replica_ok
from jiayuan.core.scoping import can, get_scoped_or_404, restrict
from jiayuan.core.xlsx import xlsx_response
from jiayuan.places.models import Building, Compound, Neighbourhood


def _int_or_none(value) -> int | None:
    """A database id from a query or form value; anything else (text, huge numbers) is None."""
    try:
        n = int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return n if n is None or 0 < n <= MAX_ID else None


def _resident_initial(request, **initial) -> dict:
    """A create form's initial data, with ``?resident=<id>`` (a link from a resident's page) as ``#id``."""
    resident_id = _int_or_none(request.GET.get("resident"))
    if resident_id:
        initial["resident"] = f"#{resident_id}"
    return initial


def _require(user, action: str) -> None:
    if not can(user, action):
        raise Http404


def _neighbourhoods(user, action: str):
    return restrict(Neighbourhood.objects.all(), user, action).order_by("code")


def _pick_neighbourhood(request, action: str):
    """The neighbourhood a page is about: ``?neighbourhood=`` or the user's only one."""
    nbs = _neighbourhoods(request.user, action)
    nb_id = _int_or_none(request.GET.get("neighbourhood") or request.POST.get("neighbourhood"))
    if nb_id:
        return get_scoped_or_404(Neighbourhood.objects.all(), request.user, action, pk=nb_id), nbs
    first = list(nbs[:2])
    return (first[0] if len(first) == 1 else None), nbs


# --- Overview, map, summary --------------------------------------------------------------------


@login_required
@replica_ok  # lag of a few seconds is fine here; see core.replicas
def index(request):
    user = request.user
    _require(user, Action.VIEW_ZONES)
    zones = selectors.zone_list(user=user)
    context = {"zone_counts": zones["counts"], "can_control": can(user, Action.VIEW_CONTROL)}
    if context["can_control"]:
        context.update(
            open_cases=selectors.case_list(user=user, open_only=True).count(),
            active_quarantines=selectors.quarantine_list(user=user, status=QuarantineStatus.ACTIVE).count(),
            missing_checks=len(selectors.checks_due(user=user, missing_only=True)),
            alerts=selectors.health_alerts(user=user).count(),
            due_returnees=selectors.returnee_list(user=user, due_within=3).count(),
        )
    return render(request, "control/index.html", context)


@login_required
@replica_ok  # lag of a few seconds is fine here; see core.replicas
def isolation_map(request):
    """家庭隔离分布图: compounds ▸ buildings as floors × rooms, coloured; printable."""
    user = request.user
    _require(user, Action.VIEW_ZONES)
    neighbourhood, nbs = _pick_neighbourhood(request, Action.VIEW_ZONES)
    compound_id = _int_or_none(request.GET.get("compound"))
    focus = request.GET.get("focus") == "1"
    data = None
    if neighbourhood is not None:
        data = selectors.isolation_map(
            user=user, neighbourhood_id=neighbourhood.pk, compound_id=compound_id, focus=focus
        )
    return render(
        request,
        "control/map.html",
        {
            "data": data,
            "share_text": sharing.isolation_map_share_text(data=data, place=neighbourhood.name) if data else "",
            "neighbourhood": neighbourhood,
            "neighbourhoods": nbs,
            "marks": HouseholdMark.choices,
            "levels": ZoneLevel.choices,
            "today": timezone.localdate(),
            "focus": focus,
        },
    )


@login_required
@replica_ok  # lag of a few seconds is fine here; see core.replicas
def summary(request):
    """防疫汇总统计表: per building and total; per neighbourhood for street officers."""
    user = request.user
    _require(user, Action.VIEW_ZONES)
    neighbourhood, nbs = _pick_neighbourhood(request, Action.VIEW_ZONES)
    table = _summary_table(user, neighbourhood)
    return render(
        request,
        "control/summary.html",
        {
            "table": table,
            "share_text": sharing.summary_share_text(
                user=user,
                table=table,
                place=_summary_place(neighbourhood),
                neighbourhood_id=neighbourhood.pk if neighbourhood else None,
            ),
            "neighbourhood": neighbourhood,
            "neighbourhoods": nbs,
            "focus": request.GET.get("focus") == "1",
        },
    )


def _summary_table(user, neighbourhood) -> dict:
    if neighbourhood is not None:
        return selectors.summary(user=user, neighbourhood_id=neighbourhood.pk, by="building")
    return selectors.summary(user=user, by="neighbourhood")


def _summary_place(neighbourhood) -> str:
    return neighbourhood.name if neighbourhood is not None else _("各居民区合计")


@login_required
@replica_ok
def summary_export(request):
    """防疫汇总统计表 as xlsx: counts per building (or neighbourhood) and the total; no names."""
    user = request.user
    _require(user, Action.VIEW_ZONES)
    neighbourhood, _nbs = _pick_neighbourhood(request, Action.VIEW_ZONES)
    table = _summary_table(user, neighbourhood)
    data = sharing.summary_xlsx(table=table, place=_summary_place(neighbourhood))
    return xlsx_response(data, f"防疫汇总统计表-{table['on']:%Y%m%d}.xlsx")


@login_required
@replica_ok
def isolation_map_export(request):
    """家庭隔离分布 as xlsx: per building its level and households of each mark (counts only)."""
    user = request.user
    _require(user, Action.VIEW_ZONES)
    neighbourhood, _nbs = _pick_neighbourhood(request, Action.VIEW_ZONES)
    if neighbourhood is None:
        raise Http404
    data = selectors.isolation_map(user=user, neighbourhood_id=neighbourhood.pk)
    today = timezone.localdate()
    return xlsx_response(
        sharing.isolation_map_xlsx(data=data, place=neighbourhood.name, on=today), f"家庭隔离分布-{today:%Y%m%d}.xlsx"
    )


# --- Zones -------------------------------------------------------------------------------------


@login_required
@replica_ok  # lag of a few seconds is fine here; see core.replicas
def zone_list(request):
    user = request.user
    _require(user, Action.VIEW_ZONES)
    neighbourhood, nbs = _pick_neighbourhood(request, Action.VIEW_ZONES)
    data = selectors.zone_list(user=user, neighbourhood_id=neighbourhood.pk if neighbourhood else None)
    return render(
        request,
        "control/zone_list.html",
        {
            "data": data,
            "neighbourhood": neighbourhood,
            "neighbourhoods": nbs,
            "overrides": selectors.zone_override_list(user=user),
            "can_override": can(user, Action.OVERRIDE_ZONE),
        },
    )


def _zone_target(request, kind: str, pk: int, action: str):
    model = Building if kind == "building" else Compound
    return get_scoped_or_404(model.objects.all(), request.user, action, pk=pk)


@login_required
def zone_detail(request, kind: str, pk: int):
    user = request.user
    if kind not in ("building", "compound"):
        raise Http404
    target = _zone_target(request, kind, pk, Action.VIEW_ZONES)
    can_override = can(user, Action.OVERRIDE_ZONE, target)
    form = OverrideForm(request.POST or None) if can_override else None
    if request.method == "POST":
        if not can_override:
            raise Http404
        if form.is_valid():
            try:
                services.zone_override_set(
                    actor=user,
                    level=form.cleaned_data["level"],
                    reason=form.cleaned_data["reason"],
                    expires_at=form.cleaned_data["expires_at"],
                    **{kind: target},
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("已人工调整分区等级。"))
                return redirect("control:zone", kind=kind, pk=pk)
    lookup = {"building_id": pk} if kind == "building" else {"compound_id": pk}
    history = selectors.zone_history(user=user, **lookup)
    level = selectors.zone_level_of(**{kind: target})
    status = selectors.zone_computed_of(**{kind: target})
    return render(
        request,
        "control/zone_detail.html",
        {
            "target": target,
            "kind": kind,
            "level": level,
            "level_label": ZoneLevel(level).label,
            "status": status,
            "page": paginate(request, history),
            "form": form,
            "overrides": selectors.zone_override_list(user=user).filter(**lookup),
        },
    )


@login_required
@require_POST
def zone_override_end(request, override_id: int):
    override = get_scoped_or_404(ZoneOverride.objects.all(), request.user, Action.OVERRIDE_ZONE, pk=override_id)
    try:
        services.zone_override_end(actor=request.user, override=override)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("人工调整已撤销, 恢复自动计算的等级。"))
    return redirect("control:zones")


# --- Policy and zone settings -----------------------------------------------------------------


def _policy_url(neighbourhood) -> str:
    return f"{reverse('control:policy')}?neighbourhood={neighbourhood.pk}"


@login_required
def policy(request):
    user = request.user
    _require(user, Action.VIEW_CONTROL)
    neighbourhood, nbs = _pick_neighbourhood(request, Action.VIEW_CONTROL)
    if neighbourhood is None:
        return render(request, "control/pick_neighbourhood.html", {"neighbourhoods": nbs, "url_name": "control:policy"})
    can_manage = can(user, Action.MANAGE_POLICY, neighbourhood)
    rows = [services.policy_for(neighbourhood.pk, r) for r in QuarantineReason.values]
    rules = selectors.zone_rules(neighbourhood.pk)
    settings_form = ZoneSettingsForm(
        initial={"unit": rules.unit, "sealed_days": rules.sealed_days, "controlled_days": rules.controlled_days}
    )
    preset_form = PresetForm()
    hotline_form = HotlineForm(initial={"hotline": selectors.committee_hotline(neighbourhood.pk)})
    if request.method == "POST":
        if not can_manage:
            raise Http404
        if "hotline" in request.POST:
            hotline_form = HotlineForm(request.POST)
            if hotline_form.is_valid():
                try:
                    services.hotline_update(actor=user, neighbourhood=neighbourhood, **hotline_form.cleaned_data)
                except ValidationError as exc:
                    apply_service_errors(hotline_form, exc)
                else:
                    messages.success(request, _("居委会联系电话已保存。"))
                    return redirect(_policy_url(neighbourhood))
        elif "preset" in request.POST:
            preset_form = PresetForm(request.POST)
            if preset_form.is_valid():
                services.policy_apply_preset(
                    actor=user, neighbourhood=neighbourhood, preset=preset_form.cleaned_data["preset"]
                )
                messages.success(request, _("已应用政策预设。"))
                return redirect(_policy_url(neighbourhood))
        else:
            settings_form = ZoneSettingsForm(request.POST)
            if settings_form.is_valid():
                try:
                    services.zone_settings_update(actor=user, neighbourhood=neighbourhood, **settings_form.cleaned_data)
                except ValidationError as exc:
                    apply_service_errors(settings_form, exc)
                else:
                    messages.success(request, _("分区设置已保存, 已重新计算分区等级。"))
                    return redirect(_policy_url(neighbourhood))
    zone_settings = getattr(neighbourhood, "zone_settings", None)
    return render(
        request,
        "control/policy.html",
        {
            "neighbourhood": neighbourhood,
            "rows": rows,
            "can_manage": can_manage,
            "settings_form": settings_form,
            "preset_form": preset_form,
            "hotline_form": hotline_form,
            "hotline": selectors.committee_hotline(neighbourhood.pk),
            "presets": PRESETS.values(),
            "preset_code": zone_settings.preset if zone_settings else "",
            "preset_label": PRESETS[zone_settings.preset].label
            if zone_settings and zone_settings.preset in PRESETS
            else "",
            "unit_label": ZoneUnit(rules.unit).label,
        },
    )


@login_required
def policy_edit(request, neighbourhood_id: int, reason: str):
    neighbourhood = get_scoped_or_404(
        Neighbourhood.objects.all(), request.user, Action.MANAGE_POLICY, pk=neighbourhood_id
    )
    if reason not in QuarantineReason.values:
        raise Http404
    row = services.policy_for(neighbourhood.pk, reason)
    initial = {
        "kind": row.kind,
        "days": row.days,
        "followup_kind": row.followup_kind,
        "followup_days": row.followup_days,
        "test_days": ",".join(str(d) for d in row.test_days),
        "whole_household": row.whole_household,
        "note": row.note,
    }
    form = PolicyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.policy_update(
                actor=request.user,
                neighbourhood=neighbourhood,
                reason=reason,
                kind=data["kind"],
                days=data["days"],
                followup_kind=data["followup_kind"] or "",
                followup_days=data["followup_days"] or 0,
                test_days=data["test_days"],
                note=data["note"],
                whole_household=data["whole_household"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("政策已保存。已在隔离中的人员按原政策执行。"))
            return redirect(_policy_url(neighbourhood))
    return render(
        request,
        "control/form.html",
        {
            "form": form,
            "title": _("修改隔离政策: %(reason)s") % {"reason": QuarantineReason(reason).label},
            "back": _policy_url(neighbourhood),
        },
    )


# --- Cases -------------------------------------------------------------------------------------


@login_required
@replica_ok  # lag of a few seconds is fine here; see core.replicas
def case_list(request):
    user = request.user
    _require(user, Action.VIEW_CONTROL)
    status = request.GET.get("status", "") if request.GET.get("status") in CaseStatus.values else ""
    cases = selectors.case_list(user=user, status=status)
    return render(
        request,
        "control/case_list.html",
        {
            "page": paginate(request, cases),
            "status": status,
            "statuses": CaseStatus.choices,
            "can_manage": can(user, Action.MANAGE_CASES),
        },
    )


@login_required
def case_create(request):
    user = request.user
    _require(user, Action.MANAGE_CASES)
    initial = _resident_initial(request, detected_on=timezone.localdate())
    form = CaseForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = services.case_record(
                actor=user,
                resident=data["resident"],
                detected_on=data["detected_on"],
                source=data["source"],
                type=data["type"],
                notes=data["notes"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("病例已登记, 分区等级已重新计算。"))
            return redirect("control:case", case_id=case.pk)
    return render(
        request, "control/form.html", {"form": form, "title": _("登记阳性病例"), "back": reverse("control:cases")}
    )


@login_required
def case_detail(request, case_id: int):
    user = request.user
    case = selectors.case_get(user=user, case_id=case_id)
    can_manage = can(user, Action.MANAGE_CASES, case)
    today = timezone.localdate()
    allowed = [(s, CaseStatus(s).label) for s in CaseStatus.values if s in CASE_TRANSITIONS[case.status]]
    transition_form = TransitionForm(initial={"on": today}, prefix="t")
    transition_form.fields["to_status"].choices = allowed
    contact_form = ContactForm(user=user, initial={"start_on": today}, prefix="c")
    void_form = VoidForm(prefix="v")
    if request.method == "POST":
        if not can_manage or case.is_voided:
            raise Http404
        if "v-reason" in request.POST:
            void_form = VoidForm(request.POST, prefix="v")
            if void_form.is_valid():
                try:
                    services.case_void(actor=user, case=case, **void_form.cleaned_data)
                except ValidationError as exc:
                    apply_service_errors(void_form, exc)
                else:
                    messages.success(request, _("病例已作废, 分区等级已重新计算。"))
                    return redirect("control:case", case_id=case.pk)
        elif "t-to_status" in request.POST:
            transition_form = TransitionForm(request.POST, prefix="t")
            transition_form.fields["to_status"].choices = allowed
            if transition_form.is_valid():
                try:
                    services.case_transition(actor=user, case=case, **transition_form.cleaned_data)
                except ValidationError as exc:
                    apply_service_errors(transition_form, exc)
                else:
                    messages.success(request, _("病例状态已更新。"))
                    return redirect("control:case", case_id=case.pk)
        else:
            contact_form = ContactForm(request.POST, user=user, prefix="c")
            if contact_form.is_valid():
                try:
                    services.contact_add(actor=user, case=case, **contact_form.cleaned_data)
                except ValidationError as exc:
                    apply_service_errors(contact_form, exc)
                else:
                    messages.success(request, _("密接已登记, 隔离已按政策开始。"))
                    return redirect("control:case", case_id=case.pk)
    return render(
        request,
        "control/case_detail.html",
        {
            "case": case,
            "events": case.events.select_related("actor").order_by("on", "id"),
            # Only the contacts the user may see: a building leader sees the case of their building,
            # not the names of contacts living in other buildings.
            "contacts": _contacts_with_quarantines(case, user),
            "hidden_contacts": case.contacts.count()
            - restrict(Contact.objects.filter(case=case), user, Action.VIEW_CONTROL).count(),
            "can_manage": can_manage and not case.is_voided,
            "transition_form": transition_form if allowed else None,
            "contact_form": contact_form,
            "void_form": void_form,
        },
    )


def _contacts_with_quarantines(case, user) -> list[Contact]:
    """The case's contacts the user may see, each with ``shown_quarantines``: its own, or — for a
    resident already in quarantine as another case's contact (one quarantine per reason) — that
    active one, so the row never looks as if the contact were not quarantined."""
    contacts = list(
        restrict(
            Contact.objects.filter(case=case).select_related("resident__household__building"),
            user,
            Action.VIEW_CONTROL,
        ).prefetch_related("quarantines")
    )
    resident_ids = [c.resident_id for c in contacts if c.resident_id]
    active = {
        q.resident_id: q
        for q in Quarantine.objects.filter(resident_id__in=resident_ids, status=QuarantineStatus.ACTIVE).order_by("id")
    }
    for c in contacts:
        own = list(c.quarantines.all())
        c.shown_quarantines = own or ([active[c.resident_id]] if c.resident_id in active else [])
    return contacts


# --- Quarantines -------------------------------------------------------------------------------


@login_required
@replica_ok  # lag of a few seconds is fine here; see core.replicas
def quarantine_list(request):
    user = request.user
    _require(user, Action.VIEW_CONTROL)
    status = request.GET.get("status", "active")
    status = status if status in QuarantineStatus.values or status == "all" else "active"
    kind = request.GET.get("kind", "") if request.GET.get("kind") in QuarantineKind.values else ""
    reason = request.GET.get("reason", "") if request.GET.get("reason") in QuarantineReason.values else ""
    qs = selectors.quarantine_list(user=user, status="" if status == "all" else status, kind=kind, reason=reason)
    return render(
        request,
        "control/quarantine_list.html",
        {
            "page": paginate(request, qs),
            "status": status,
            "kind": kind,
            "reason": reason,
            "statuses": QuarantineStatus.choices,
            "kinds": QuarantineKind.choices,
            "reasons": QuarantineReason.choices,
            "can_manage": can(user, Action.MANAGE_QUARANTINE),
        },
    )


@login_required
def quarantine_create(request):
    user = request.user
    _require(user, Action.MANAGE_QUARANTINE)
    initial = _resident_initial(request, start_on=timezone.localdate())
    form = QuarantineForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            q = services.quarantine_start(actor=user, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("隔离已按政策登记。"))
            return redirect("control:quarantine", quarantine_id=q.pk)
    return render(
        request,
        "control/form.html",
        {"form": form, "title": _("登记隔离/健康监测"), "back": reverse("control:quarantines")},
    )


@login_required
def quarantine_detail(request, quarantine_id: int):
    user = request.user
    q = selectors.quarantine_get(user=user, quarantine_id=quarantine_id)
    can_manage = can(user, Action.MANAGE_QUARANTINE, q)
    can_check = can(user, Action.RECORD_HEALTH_CHECK, q)
    today = timezone.localdate()
    forms = {
        "test": QuarantineTestForm(initial={"on": today, "result": "negative"}, prefix="test"),
        "release": ReleaseForm(prefix="rel"),
        "transfer": TransferForm(prefix="tr"),
        "check": HealthCheckForm(
            initial={"slot": Slot.MORNING if timezone.localtime().hour < 12 else Slot.AFTERNOON}, prefix="hc"
        ),
    }
    if request.method == "POST":
        which = request.POST.get("form")
        if which == "check":
            if not can_check:
                raise Http404
        elif not can_manage:
            raise Http404
        prefix = {"test": "test", "release": "rel", "transfer": "tr", "check": "hc"}.get(which)
        if prefix is None:
            raise Http404
        form_class = {
            "test": QuarantineTestForm,
            "release": ReleaseForm,
            "transfer": TransferForm,
            "check": HealthCheckForm,
        }[which]
        form = form_class(request.POST, prefix=prefix)
        forms[which] = form
        if form.is_valid():
            data = form.cleaned_data
            try:
                if which == "test":
                    services.quarantine_test_record(actor=user, quarantine=q, **data)
                    msg = _("核酸结果已记录。")
                elif which == "release":
                    services.quarantine_release(actor=user, quarantine=q, early=data["early"], reason=data["reason"])
                    msg = _("已解除隔离, 可打印解除告知书。")
                elif which == "transfer":
                    services.quarantine_transfer(actor=user, quarantine=q, reason=data["reason"])
                    msg = _("已记录转运。")
                else:
                    services.health_check_record(actor=user, quarantine=q, on=today, source="staff", **data)
                    msg = _("健康监测已记录。")
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, msg)
                return redirect("control:quarantine", quarantine_id=q.pk)
    tests = {t.on: t for t in q.tests.all()}
    return render(
        request,
        "control/quarantine_detail.html",
        {
            "q": q,
            "forms": forms,
            "can_manage": can_manage and q.is_active,
            "can_check": can_check and q.is_active,
            "problems": services.quarantine_release_problems(q) if q.is_active else [],
            "test_plan": [(n, day, tests.get(day)) for n, day in q.test_dates()],
            "other_tests": [t for d, t in tests.items() if d not in {day for _n, day in q.test_dates()}],
            "checks": selectors.health_check_list(user=user, quarantine_id=q.pk)[:30],
            # The case a contact's quarantine comes from, only when the user may see that case.
            "case": selectors.case_list(user=user).filter(pk=q.contact.case_id).first() if q.contact_id else None,
        },
    )


@login_required
def release_notice(request, quarantine_id: int):
    """解除隔离告知书: a printable page, only for a released quarantine."""
    q = selectors.quarantine_get(user=request.user, quarantine_id=quarantine_id)
    if q.status != QuarantineStatus.RELEASED:
        raise Http404
    return render(
        request,
        "control/release_notice.html",
        {"q": q, "neighbourhood": Neighbourhood.objects.get(pk=q.neighbourhood_id)},
    )


# --- Health checks -----------------------------------------------------------------------------


@login_required
@replica_ok  # lag of a few seconds is fine here; see core.replicas
def checks_today(request):
    user = request.user
    _require(user, Action.VIEW_CONTROL)
    missing_only = request.GET.get("missing") == "1"
    rows = selectors.checks_due(user=user, missing_only=missing_only)
    return render(
        request,
        "control/checks.html",
        {
            "rows": rows,
            "can_record": can(user, Action.RECORD_HEALTH_CHECK),
            "missing_only": missing_only,
            "alerts": selectors.health_alerts(user=user)[:50],
            "today": timezone.localdate(),
        },
    )


@login_required
@require_POST
def check_record(request):
    """Quick entry from today's list: one temperature for one slot of one quarantine."""
    user = request.user
    q = selectors.quarantine_get(
        user=user, quarantine_id=_int_or_none(request.POST.get("quarantine")) or 0, action=Action.RECORD_HEALTH_CHECK
    )
    try:
        check, _created = services.health_check_record(
            actor=user,
            quarantine=q,
            on=timezone.localdate(),
            slot=request.POST.get("slot", ""),
            temperature=request.POST.get("temperature", ""),
            symptoms=request.POST.getlist("symptoms"),
            source="staff",
        )
    except ValidationError as exc:
        messages.error(request, f"{q.person_name}: {' '.join(exc.messages)}")
    else:
        if check.alert:
            messages.warning(request, _("%(name)s 体温异常, 已列入发热/症状异常。") % {"name": q.person_name})
        else:
            messages.success(request, _("%(name)s 已记录。") % {"name": q.person_name})
    suffix = "?missing=1" if request.POST.get("missing") == "1" else ""
    return redirect(reverse("control:checks") + suffix)


# --- Returnees ---------------------------------------------------------------------------------


@login_required
@replica_ok  # lag of a few seconds is fine here; see core.replicas
def returnee_list(request):
    user = request.user
    _require(user, Action.VIEW_CONTROL)
    due = request.GET.get("due") == "1"
    qs = selectors.returnee_list(user=user, due_within=3 if due else None)
    return render(
        request,
        "control/returnee_list.html",
        {"page": paginate(request, qs), "due": due, "can_manage": can(user, Action.MANAGE_QUARANTINE)},
    )


@login_required
def returnee_create(request):
    user = request.user
    _require(user, Action.MANAGE_QUARANTINE)
    form = ReturneeForm(request.POST or None, user=user, initial={"arrival_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.returnee_register(actor=user, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("返沪人员已登记, 已按政策安排隔离或健康监测。"))
            return redirect("control:returnees")
    return render(
        request, "control/form.html", {"form": form, "title": _("返沪人员登记"), "back": reverse("control:returnees")}
    )
