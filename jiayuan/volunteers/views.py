"""Staff and volunteer pages. Thin: resolve through the user's scope, call a service or selector.

Who sees what: VIEW_VOLUNTEERS opens the duty board, teams, shifts and the roster (building
roles: their building's volunteers); MANAGE_VOLUNTEERS registers and reviews volunteers and
manages teams; MANAGE_SHIFTS (or leading the shift's team) schedules, assigns and checks people
in; a volunteer with a linked login claims and checks in/out on their own shifts.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiayuan.core import extensions
from jiayuan.core.audit import audit_record
from jiayuan.core.exports import safe_row
from jiayuan.core.forms import apply_service_errors
from jiayuan.core.pagination import paginate
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can, get_scoped_or_404, restrict
from jiayuan.core.xlsx import Sheet, tables_xlsx, xlsx_response
from jiayuan.people.models import Resident
from jiayuan.places.models import Building, Neighbourhood
from jiayuan.volunteers import forms, selectors, services
from jiayuan.volunteers.choices import AssignmentStatus, PlaceKind, TeamKind, VolunteerStatus
from jiayuan.volunteers.models import Shift, ShiftAssignment, TeamMembership, Volunteer

AS = AssignmentStatus


def _require(user, action: str, obj=None) -> None:
    if not can(user, action, obj):
        raise Http404


def _may_open(user) -> bool:
    return can(user, Action.VIEW_VOLUNTEERS) or selectors.my_volunteer(user) is not None


def _neighbourhood_for(user, action: str) -> Neighbourhood:
    nb = restrict(Neighbourhood.objects.order_by("code"), user, action).first()
    if nb is None:
        raise Http404
    return nb


def _attempt(request, fn, success: str) -> bool:
    """Run a service; flash its success, its refusal or its (Chinese) errors."""
    try:
        fn()
    except services.ShiftRefused as exc:
        messages.error(request, exc.message)
        return False
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return False
    messages.success(request, success)
    return True


def _back(request, fallback: str, **kwargs):
    nxt = request.POST.get("next", "")
    if nxt.startswith("/") and not nxt.startswith("//"):
        return redirect(nxt)
    return redirect(fallback, **kwargs)


def _shift_values(form, buildings) -> dict:
    """A valid ``ShiftForm``'s fields as ``shift_create`` and ``shift_update`` take them."""
    d = form.cleaned_data
    return {
        "date": d["date"],
        "start": d["start"],
        "end": d["end"],
        "needed": d["needed"],
        "place": d["place"],
        "place_kind": d["place_kind"],
        "place_ref": d.get("place_ref") or "",
        "building": buildings.filter(pk=d["building"]).first() if d["building"] else None,
        "note": d["note"],
    }


def _shift_visible(user, shift_id: int) -> Shift:
    """A shift the user may see: in their VIEW_VOLUNTEERS scope, or of a team they belong to."""
    qs = Shift.objects.select_related("team", "building")
    shift = restrict(qs, user, Action.VIEW_VOLUNTEERS).filter(pk=shift_id).first()
    if shift is None:
        vol = selectors.my_volunteer(user)
        if vol is not None:
            shift = qs.filter(pk=shift_id, team__memberships__volunteer=vol).first()
    if shift is None:
        raise Http404
    return shift


# --- Home: my shifts and the duty board ------------------------------------------------------------


@login_required
def index(request):
    user = request.user
    if not _may_open(user):
        raise Http404
    board = selectors.duty_board(user=user) if can(user, Action.VIEW_VOLUNTEERS) else None
    return render(
        request,
        "volunteers/index.html",
        {
            "my": selectors.my_shifts(user=user),
            "board": board,
            "can_manage": can(user, Action.MANAGE_VOLUNTEERS),
            "can_shifts": can(user, Action.MANAGE_SHIFTS),
            "can_view": can(user, Action.VIEW_VOLUNTEERS),
            "now": timezone.now(),
        },
    )


# --- Registry ------------------------------------------------------------------------------------


@login_required
def roster(request):
    _require(request.user, Action.VIEW_VOLUNTEERS)
    status = request.GET.get("status", "")
    status = status if status in VolunteerStatus.values else ""
    team_id = request.GET.get("team", "")
    team_id = int(team_id) if team_id.isdigit() else None
    q = request.GET.get("q", "").strip()[:64]
    rows = selectors.volunteer_list(user=request.user, status=status, team_id=team_id, q=q)
    return render(
        request,
        "volunteers/roster.html",
        {
            "page": paginate(request, rows),
            "status": status,
            "statuses": VolunteerStatus.choices,
            "teams": selectors.team_list(user=request.user),
            "team_id": team_id,
            "q": q,
            "counts": selectors.counts_by_status(user=request.user),
            "can_manage": can(request.user, Action.MANAGE_VOLUNTEERS),
        },
    )


@login_required
def volunteer_create(request):
    _require(request.user, Action.MANAGE_VOLUNTEERS)
    form = forms.VolunteerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        resident = None
        if d["resident"]:
            resident = (
                restrict(Resident.objects.select_related("household"), request.user, Action.MANAGE_VOLUNTEERS)
                .filter(pk=d["resident"])
                .first()
            )
            if resident is None:
                form.add_error("resident", _("没有找到这位居民"))
        if not form.errors:
            nb = resident.neighbourhood if resident else _neighbourhood_for(request.user, Action.MANAGE_VOLUNTEERS)
            try:
                v = services.volunteer_create(
                    actor=request.user,
                    neighbourhood=nb,
                    resident=resident,
                    name=d["name"],
                    phone=d["phone"],
                    skills=d["skills"],
                    availability=d["availability"],
                    party_member=d["party_member"],
                    dual_registration_org=d["dual_registration_org"],
                    dual_registration_date=d["dual_registration_date"],
                    commitment_signed=d["commitment_signed"],
                    note=d["note"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("已登记志愿者"))
                return redirect("volunteers:volunteer", volunteer_id=v.pk)
    return render(request, "volunteers/volunteer_form.html", {"form": form})


@login_required
def volunteer_detail(request, volunteer_id: int):
    v = selectors.volunteer_get(user=request.user, volunteer_id=volunteer_id)
    can_manage = can(request.user, Action.MANAGE_VOLUNTEERS, v)
    recent = (
        ShiftAssignment.objects.filter(volunteer=v)
        .exclude(status=AS.CANCELLED)
        .select_related("shift__team")
        .order_by("-shift__starts_at")[:20]
    )
    return render(
        request,
        "volunteers/volunteer_detail.html",
        {
            "v": v,
            "memberships": v.memberships.select_related("team"),
            "totals": selectors.volunteer_totals([v.pk])[v.pk],
            "recent": recent,
            "can_manage": can_manage,
            "status_form": forms.StatusForm(initial={"status": v.status}),
            "transitions": [(s, VolunteerStatus(s).label) for s in services.TRANSITIONS.get(v.status, ())],
            "gate": _gate_preview(v),
            "can_certificate": can_manage or v.user_id == request.user.pk,
            "logins": selectors.volunteer_logins(v.neighbourhood_id) if can_manage and not v.user_id else [],
        },
    )


def _gate_preview(v: Volunteer):
    """Would the health gate stop this volunteer now (at a gate shift, today's antigen aside)?"""
    if v.status != VolunteerStatus.ACTIVE:
        return None
    refusal = services.health_gate(v, Shift(), antigen=False)
    return refusal[1] if refusal else None


@login_required
def volunteer_edit(request, volunteer_id: int):
    v = selectors.volunteer_get(user=request.user, volunteer_id=volunteer_id, action=Action.MANAGE_VOLUNTEERS)
    initial = {
        "skills": v.skills,
        "availability": v.availability,
        "party_member": v.party_member,
        "dual_registration_org": v.dual_registration_org,
        "dual_registration_date": v.dual_registration_date,
        "commitment_signed": v.commitment_signed_at is not None,
        "note": v.note,
    }
    form = forms.VolunteerEditForm(request.POST or None, initial=initial, outsider=v.resident_id is None)
    if request.method == "POST" and form.is_valid():
        changes = dict(form.cleaned_data)
        if "phone" in changes and not changes["phone"]:
            changes.pop("phone")  # blank keeps the number (it is shown masked)
        try:
            services.volunteer_update(actor=request.user, volunteer=v, **changes)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("volunteers:volunteer", volunteer_id=v.pk)
    return render(request, "volunteers/volunteer_form.html", {"form": form, "v": v})


@login_required
@require_POST
def volunteer_status(request, volunteer_id: int):
    v = selectors.volunteer_get(user=request.user, volunteer_id=volunteer_id, action=Action.MANAGE_VOLUNTEERS)
    status = request.POST.get("status", "")
    _attempt(
        request,
        lambda: services.volunteer_set_status(
            actor=request.user, volunteer=v, status=status, reason=request.POST.get("reason", "")
        ),
        _("已更新志愿者状态"),
    )
    return redirect("volunteers:volunteer", volunteer_id=v.pk)


@login_required
@require_POST
def volunteer_reveal(request, volunteer_id: int):
    v = selectors.volunteer_get(user=request.user, volunteer_id=volunteer_id, action=Action.MANAGE_VOLUNTEERS)
    phone = services.volunteer_reveal_phone(actor=request.user, volunteer=v)
    messages.info(request, _("%(name)s 的电话: %(phone)s") % {"name": v.name, "phone": phone or "-"})
    return redirect("volunteers:volunteer", volunteer_id=v.pk)


@login_required
@require_POST
def volunteer_login(request, volunteer_id: int):
    """Link an account with the volunteer role (or unlink: no ``user``), for "my shifts"."""
    v = selectors.volunteer_get(user=request.user, volunteer_id=volunteer_id, action=Action.MANAGE_VOLUNTEERS)
    uid = request.POST.get("user", "")
    login = None
    if uid:
        login = selectors.volunteer_logins(v.neighbourhood_id).filter(pk=int(uid) if uid.isdigit() else 0).first()
        if login is None:
            raise Http404
    _attempt(
        request,
        lambda: services.volunteer_link_user(actor=request.user, volunteer=v, user=login),
        _("已关联登录账号") if login else _("已取消关联登录账号"),
    )
    return redirect("volunteers:volunteer", volunteer_id=v.pk)


@login_required
@require_POST
def team_settings(request, team_id: int):
    team = selectors.team_get(user=request.user, team_id=team_id, action=Action.MANAGE_VOLUNTEERS)
    services.team_update(
        actor=request.user,
        team=team,
        requires_antigen_today=bool(request.POST.get("requires_antigen_today")),
        description=request.POST.get("description", "")[:2000],
        active=bool(request.POST.get("active")),
    )
    messages.success(request, _("已保存队伍设置"))
    return redirect("volunteers:team", team_id=team.pk)


@login_required
def certificate(request, volunteer_id: int):
    v = (
        restrict(Volunteer.objects.all(), request.user, Action.MANAGE_VOLUNTEERS).filter(pk=volunteer_id).first()
        or Volunteer.objects.filter(pk=volunteer_id, user=request.user).first()
    )
    if v is None:
        raise Http404
    period = forms.PeriodForm(request.GET or None)
    start, end = period.period()
    if "start" not in request.GET:
        start = min(start, selectors.first_day_served(v) or start)
    cert = selectors.certificate(volunteer=v, start=start, end=end)
    audit_record(
        actor=request.user,
        action="volunteer.certificate",
        obj=v,
        changes={"start": start.isoformat(), "end": end.isoformat(), "hours": str(cert["total"])},
    )
    return render(
        request,
        "volunteers/certificate.html",
        {"cert": cert, "period": forms.PeriodForm(initial={"start": start, "end": end}), "today": timezone.localdate()},
    )


# --- Teams ---------------------------------------------------------------------------------------


@login_required
def teams(request):
    _require(request.user, Action.VIEW_VOLUNTEERS)
    can_manage = can(request.user, Action.MANAGE_VOLUNTEERS)
    form = forms.TeamForm(request.POST or None)
    if request.method == "POST":
        _require(request.user, Action.MANAGE_VOLUNTEERS)
        if form.is_valid():
            d = form.cleaned_data
            try:
                team = services.team_create(
                    actor=request.user, neighbourhood=_neighbourhood_for(request.user, Action.MANAGE_VOLUNTEERS), **d
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("已新建队伍"))
                return redirect("volunteers:team", team_id=team.pk)
    return render(
        request,
        "volunteers/teams.html",
        {"teams": selectors.team_list(user=request.user), "form": form, "can_manage": can_manage, "kinds": TeamKind},
    )


@login_required
def team_detail(request, team_id: int):
    team = selectors.team_get(user=request.user, team_id=team_id)
    user = request.user
    can_manage = can(user, Action.MANAGE_VOLUNTEERS, team)
    can_schedule = can(user, Action.MANAGE_SHIFTS, team) or team.pk in selectors.led_team_ids(user)
    members = list(team.memberships.select_related("volunteer").order_by("-is_leader", "volunteer__name"))
    member_ids = {m.volunteer_id for m in members}
    candidates = (
        restrict(Volunteer.objects.filter(neighbourhood_id=team.neighbourhood_id), user, Action.MANAGE_VOLUNTEERS)
        .exclude(status=VolunteerStatus.LEFT)
        .exclude(pk__in=member_ids)
        .order_by("name")
        if can_manage
        else []
    )
    buildings = Building.objects.filter(neighbourhood_id=team.neighbourhood_id).order_by("compound_id", "sort_key")
    places = {kind: extensions.place_choices(kind, team.neighbourhood_id) for kind in PlaceKind.values}
    shift_form = forms.ShiftForm(request.POST or None, buildings=buildings, places=places)
    if request.method == "POST":
        if not can_schedule:
            raise Http404
        if shift_form.is_valid():
            try:
                services.shift_create(actor=user, team=team, **_shift_values(shift_form, buildings))
            except ValidationError as exc:
                apply_service_errors(shift_form, exc)
            else:
                messages.success(request, _("已新建班次"))
                return redirect("volunteers:team", team_id=team.pk)
    today = timezone.localdate()
    return render(
        request,
        "volunteers/team_detail.html",
        {
            "team": team,
            "members": members,
            "member_form": forms.MemberForm(volunteers=candidates) if can_manage else None,
            "shift_form": shift_form if can_schedule else None,
            "shifts": selectors.shift_list(
                user=user, start=today - dt.timedelta(days=1), end=today + dt.timedelta(days=7), team_id=team.pk
            )
            if can(user, Action.VIEW_VOLUNTEERS, team)
            else [],
            "can_manage": can_manage,
        },
    )


@login_required
@require_POST
def team_member(request, team_id: int):
    team = selectors.team_get(user=request.user, team_id=team_id, action=Action.MANAGE_VOLUNTEERS)
    op = request.POST.get("op", "add")
    vid = request.POST.get("volunteer", "")
    volunteer = get_scoped_or_404(
        Volunteer.objects.filter(neighbourhood_id=team.neighbourhood_id),
        request.user,
        Action.VIEW_VOLUNTEERS,
        pk=int(vid) if vid.isdigit() else 0,
    )
    if op == "add":
        _attempt(
            request,
            lambda: services.team_add_member(
                actor=request.user, team=team, volunteer=volunteer, is_leader=bool(request.POST.get("is_leader"))
            ),
            _("已加入队伍"),
        )
    else:
        membership = TeamMembership.objects.filter(team=team, volunteer=volunteer).first()
        if membership is None:
            raise Http404
        if op == "leader":
            services.team_set_leader(actor=request.user, membership=membership, is_leader=not membership.is_leader)
            messages.success(request, _("已更新队长"))
        elif op == "remove":
            services.team_remove_member(actor=request.user, membership=membership)
            messages.success(request, _("已移出队伍"))
    return redirect("volunteers:team", team_id=team.pk)


# --- Shifts --------------------------------------------------------------------------------------


@login_required
def shifts(request):
    _require(request.user, Action.VIEW_VOLUNTEERS)
    today = timezone.localdate()
    try:
        start = dt.date.fromisoformat(request.GET.get("start", ""))
    except ValueError:
        start = today
    start = max(min(start, dt.date(2099, 12, 1)), dt.date(2020, 1, 1))
    short_only = request.GET.get("short") == "1"
    rows = selectors.shift_list(user=request.user, start=start, end=start + dt.timedelta(days=6), short_only=short_only)
    days: dict[dt.date, list] = {}
    for s in rows:
        days.setdefault(s.date, []).append(s)
    return render(
        request,
        "volunteers/shifts.html",
        {
            "days": sorted(days.items()),
            "start": start,
            "prev": start - dt.timedelta(days=7),
            "next": start + dt.timedelta(days=7),
            "short_only": short_only,
            "today": today,
        },
    )


@login_required
def shift_detail(request, shift_id: int):
    shift = _shift_visible(request.user, shift_id)
    user = request.user
    manage = selectors.may_manage_shift(user, shift)
    form = None
    if manage:
        pool = Volunteer.objects.filter(neighbourhood_id=shift.neighbourhood_id, status=VolunteerStatus.ACTIVE)
        if not can(user, Action.MANAGE_SHIFTS, shift):
            pool = pool.filter(memberships__team_id=shift.team_id)
        taken = shift.assignments.exclude(status=AS.CANCELLED).values("volunteer_id")
        form = forms.AssignForm(
            request.POST or None,
            volunteers=pool.exclude(pk__in=taken).order_by("-memberships__is_leader", "name").distinct(),
        )
        if request.method == "POST" and form.is_valid():
            volunteer = pool.filter(pk=form.cleaned_data["volunteer"]).first()
            if volunteer is not None:
                source = "staff" if can(user, Action.MANAGE_SHIFTS, shift) else "leader"
                _attempt(
                    request,
                    lambda: services.shift_assign(actor=user, shift=shift, volunteer=volunteer, source=source),
                    _("已安排 %(name)s") % {"name": volunteer.name},
                )
            return redirect("volunteers:shift", shift_id=shift.pk)
    elif request.method == "POST":
        raise Http404
    shift = selectors._decorate(Shift.objects.select_related("team", "building").get(pk=shift.pk))
    me = selectors.my_volunteer(user)
    return render(
        request,
        "volunteers/shift_detail.html",
        {
            "shift": shift,
            "rows": shift.rows,
            "manage": manage,
            "form": form,
            "me": me,
            "mine": next((r for r in shift.rows if me and r.volunteer_id == me.pk), None),
            "can_claim": me is not None
            and not shift.ended
            and not shift.cancelled
            and shift.team.memberships.filter(volunteer=me).exists(),
            "can_cancel": can(user, Action.MANAGE_SHIFTS, shift) and not shift.cancelled,
            "can_edit": manage and not shift.cancelled and not shift.ended,
        },
    )


@login_required
def shift_edit(request, shift_id: int):
    """Change a shift: the staff who schedule the neighbourhood's shifts, or the team's leader."""
    shift = _shift_visible(request.user, shift_id)
    if not selectors.may_manage_shift(request.user, shift):
        raise Http404
    buildings = Building.objects.filter(neighbourhood_id=shift.neighbourhood_id).order_by("compound_id", "sort_key")
    places = {kind: extensions.place_choices(kind, shift.neighbourhood_id) for kind in PlaceKind.values}
    initial = {
        "date": shift.date,
        "start": shift.start,
        "end": shift.end,
        "place_kind": shift.place_kind,
        "building": shift.building_id,
        "place_ref": shift.place_ref,
        "place": "" if shift.place_ref else shift.place,
        "needed": shift.needed,
        "note": shift.note,
    }
    form = forms.ShiftForm(request.POST or None, initial=initial, buildings=buildings, places=places)
    if request.method == "POST" and form.is_valid():
        try:
            services.shift_update(actor=request.user, shift=shift, **_shift_values(form, buildings))
        except services.ShiftRefused as exc:
            form.add_error(None, exc.message)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("已修改班次"))
            return redirect("volunteers:shift", shift_id=shift.pk)
    return render(request, "volunteers/shift_form.html", {"shift": shift, "form": form})


@login_required
@require_POST
def shift_claim(request, shift_id: int):
    shift = _shift_visible(request.user, shift_id)
    _attempt(request, lambda: services.shift_claim(actor=request.user, shift=shift), _("认领成功, 请按时到岗"))
    return _back(request, "volunteers:shift", shift_id=shift.pk)


@login_required
@require_POST
def shift_check(request, shift_id: int, direction: str):
    """Check in or out: the volunteer themselves, or staff / the team leader for them."""
    shift = _shift_visible(request.user, shift_id)
    vid = request.POST.get("volunteer", "")
    me = selectors.my_volunteer(request.user)
    manage = selectors.may_manage_shift(request.user, shift)
    if vid.isdigit() and (me is None or int(vid) != me.pk):
        if not manage:
            raise Http404
        volunteer = Volunteer.objects.filter(pk=int(vid), neighbourhood_id=shift.neighbourhood_id).first()
    else:
        volunteer = me
    if can(request.user, Action.MANAGE_SHIFTS, shift):
        source = "staff"
    else:
        source = "leader" if manage and volunteer is not me else "claim"
    if volunteer is None or direction not in ("in", "out"):
        raise Http404
    if direction == "in":
        _attempt(
            request,
            lambda: services.check_in(
                actor=request.user,
                shift=shift,
                volunteer=volunteer,
                source=source,
                antigen_seen=request.POST.get("antigen_seen") == "1",
            ),
            _("%(name)s 已签到") % {"name": volunteer.name},
        )
    else:
        _attempt(
            request,
            lambda: services.check_out(actor=request.user, shift=shift, volunteer=volunteer),
            _("%(name)s 已签退") % {"name": volunteer.name},
        )
    return _back(request, "volunteers:shift", shift_id=shift.pk)


@login_required
@require_POST
def assignment_cancel(request, assignment_id: int):
    a = ShiftAssignment.objects.select_related("shift__team", "volunteer").filter(pk=assignment_id).first()
    if a is None:
        raise Http404
    shift = _shift_visible(request.user, a.shift_id)
    me = selectors.my_volunteer(request.user)
    if not (selectors.may_manage_shift(request.user, shift) or (me is not None and a.volunteer_id == me.pk)):
        raise Http404
    _attempt(request, lambda: services.assignment_cancel(actor=request.user, assignment=a), _("已取消该排班"))
    return _back(request, "volunteers:shift", shift_id=shift.pk)


@login_required
@require_POST
def shift_cancel(request, shift_id: int):
    shift = get_scoped_or_404(Shift.objects.all(), request.user, Action.MANAGE_SHIFTS, pk=shift_id)
    services.shift_cancel(actor=request.user, shift=shift, reason=request.POST.get("reason", ""))
    messages.success(request, _("已取消班次"))
    return redirect("volunteers:shift", shift_id=shift.pk)


@login_required
@require_POST
def no_shows(request):
    nb = _neighbourhood_for(request.user, Action.MANAGE_SHIFTS)
    n = services.no_shows_mark(actor=request.user, neighbourhood_id=nb.pk)
    messages.success(request, _("已标记 %(n)s 人次未到岗") % {"n": n})
    return redirect("volunteers:shifts")


# --- Hours ---------------------------------------------------------------------------------------


@login_required
def hours(request):
    _require(request.user, Action.MANAGE_SHIFTS)
    period = forms.PeriodForm(request.GET or None)
    start, end = period.period()
    people = selectors.hours_by_volunteer(user=request.user, start=start, end=end)
    teams_ = selectors.hours_by_team(user=request.user, start=start, end=end)
    if request.GET.get("format") == "xlsx":
        audit_record(
            actor=request.user,
            action="volunteer.hours_export",
            object_type="volunteers.hours",
            object_repr=f"{start}~{end}",
            changes={"start": start.isoformat(), "end": end.isoformat(), "rows": len(people)},
        )
        title = _("志愿服务时长 %(start)s 至 %(end)s") % {"start": start, "end": end}
        data = tables_xlsx(
            [
                Sheet(
                    name=_("按志愿者"),
                    title=title,
                    header=[_("姓名"), _("班次数"), _("服务时长(小时)")],
                    rows=[safe_row([p["name"], p["shifts"], float(p["hours"])]) for p in people],
                    total=[_("合计"), sum(p["shifts"] for p in people), float(sum(p["hours"] for p in people))],
                ),
                Sheet(
                    name=_("按队伍"),
                    title=title,
                    header=[_("队伍"), _("人数"), _("班次数"), _("服务时长(小时)")],
                    rows=[safe_row([t["name"], t["people"], t["shifts"], float(t["hours"])]) for t in teams_],
                ),
            ]
        )
        return xlsx_response(data, f"志愿服务时长_{start}_{end}.xlsx")
    return render(
        request,
        "volunteers/hours.html",
        {
            "period": forms.PeriodForm(initial={"start": start, "end": end}),
            "start": start,
            "end": end,
            "people": people,
            "teams": teams_,
            "total": sum((p["hours"] for p in people), Decimal("0.00")),
        },
    )
