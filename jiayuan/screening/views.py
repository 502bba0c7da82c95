"""Screening pages. Thin: resolve through the user's scope, call a service or selector, render."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiayuan.core.forms import apply_service_errors
from jiayuan.core.pagination import paginate
from jiayuan.core.permissions import Action
from jiayuan.core.qr import qr_svg
from jiayuan.core.replicas import replica_ok
from jiayuan.core.scoping import can, get_scoped_or_404, restrict
from jiayuan.core.xlsx import xlsx_response
from jiayuan.people.choices import Tag
from jiayuan.people.models import Resident
from jiayuan.places.models import Building, Neighbourhood
from jiayuan.screening import exporting, results_import, selectors, services, sharing
from jiayuan.screening.choices import ReportChannel, RoundStatus, TubeResult, TubeStatus
from jiayuan.screening.codes import looks_like_resident_code, sampling_code
from jiayuan.screening.forms import (
    AntigenConfirmForm,
    AntigenForm,
    ExemptForm,
    PersonForm,
    ResultUploadForm,
    RoundForm,
    StationForm,
    TubeResultForm,
)
from jiayuan.screening.models import AntigenReport, Exemption, ResultImport, Sample, Station, Tube


def _int_or_none(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _date_or_today(value) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else timezone.localdate()
    except (TypeError, ValueError):
        return timezone.localdate()


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _caps(request, round_) -> dict:
    user = request.user
    return {
        "manage": can(user, Action.MANAGE_ROUNDS, round_),
        "sample": can(user, Action.SAMPLE, round_),
        "results": can(user, Action.ENTER_RESULTS, round_),
    }


# --- Rounds ---------------------------------------------------------------------------------------


@login_required
def rounds(request):
    if not can(request.user, Action.VIEW_SCREENING):
        raise Http404
    neighbourhoods = restrict(Neighbourhood.objects.all(), request.user, Action.MANAGE_ROUNDS)
    form = None
    if neighbourhoods.exists():
        buildings = restrict(Building.objects.select_related("compound"), request.user, Action.MANAGE_ROUNDS)
        form = RoundForm(
            request.POST or None,
            neighbourhoods=neighbourhoods,
            buildings=buildings.order_by("compound_id", "sort_key"),
            initial={"neighbourhood": neighbourhoods.first()},
        )
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            try:
                round_ = services.round_create(
                    actor=request.user,
                    neighbourhood=d["neighbourhood"],
                    kind=d["kind"],
                    date=d["date"],
                    pool_size=d["pool_size"],
                    start_time=d["start_time"],
                    end_time=d["end_time"],
                    slot_minutes=d["slot_minutes"],
                    buildings=list(d["buildings"]),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("已新建筛查轮次, 请添加采样点并生成采样安排。"))
                return redirect("screening:plan", round_id=round_.pk)
    elif request.method == "POST":
        raise Http404
    page = paginate(request, selectors.round_list(user=request.user), per_page=20)
    return render(request, "screening/rounds.html", {"page": page, "form": form})


@login_required
@replica_ok  # lag of a few seconds is fine here; see core.replicas
def round_detail(request, round_id: int):
    round_ = selectors.round_get(user=request.user, round_id=round_id)
    if request.htmx:  # the 10-second poll: shared between viewers of the same scope for 5 s
        stats = selectors.round_stats_cached(user=request.user, round_=round_)
    else:
        stats = selectors.round_stats(user=request.user, round_=round_)
    context = {"round": round_, "stats": stats, "caps": _caps(request, round_)}
    if request.htmx:
        return render(request, "screening/round_detail.html#progress", context)
    context["share_text"] = sharing.round_share_text(round_=round_, stats=stats)
    return render(request, "screening/round_detail.html", context)


@login_required
@replica_ok  # lag of a few seconds is fine here; see core.replicas
def round_export(request, round_id: int):
    """The round's progress per building as xlsx (counts only, no names)."""
    round_ = selectors.round_get(user=request.user, round_id=round_id)
    stats = selectors.round_stats(user=request.user, round_=round_)
    data = sharing.round_progress_xlsx(round_=round_, stats=stats)
    return xlsx_response(data, f"筛查进度-{round_.date:%Y%m%d}-{round_.pk}.xlsx")


@login_required
@require_POST
def round_finish(request, round_id: int):
    round_ = selectors.round_get(user=request.user, round_id=round_id, action=Action.MANAGE_ROUNDS)
    services.round_finish(actor=request.user, round_=round_)
    messages.success(request, _("本轮采样已结束, 未满的试管已封管。"))
    return redirect("screening:round", round_id=round_.pk)


# --- Plan -----------------------------------------------------------------------------------------


@login_required
def plan(request, round_id: int):
    round_ = selectors.round_get(user=request.user, round_id=round_id)
    caps = _caps(request, round_)
    form = StationForm(request.POST or None) if caps["manage"] else None
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            try:
                services.station_create(actor=request.user, round_=round_, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("已添加采样点, 请重新生成采样安排。"))
                return redirect("screening:plan", round_id=round_.pk)
    data = selectors.plan_get(round_=round_)
    return render(
        request,
        "screening/plan.html",
        {"round": round_, "caps": caps, "form": form, "plan": data, "stations": round_.stations.all()},
    )


@login_required
@require_POST
def station_delete(request, round_id: int, station_id: int):
    round_ = selectors.round_get(user=request.user, round_id=round_id, action=Action.MANAGE_ROUNDS)
    station = get_scoped_or_404(Station.objects.filter(round=round_), request.user, Action.MANAGE_ROUNDS, pk=station_id)
    services.station_delete(actor=request.user, station=station)
    messages.success(request, _("已删除采样点, 请重新生成采样安排。"))
    return redirect("screening:plan", round_id=round_.pk)


@login_required
@require_POST
def plan_generate(request, round_id: int):
    round_ = selectors.round_get(user=request.user, round_id=round_id, action=Action.MANAGE_ROUNDS)
    result = services.plan_generate(actor=request.user, round_=round_)
    for w in result.warnings:
        messages.error(request, w)
    if result.slots:
        messages.success(request, _("采样安排已生成。"))
    return redirect("screening:plan", round_id=round_.pk)


# --- Missed list, exemptions, retests -------------------------------------------------------------


@login_required
@replica_ok  # lag of a few seconds is fine here; see core.replicas
def missed(request, round_id: int):
    round_ = selectors.round_get(user=request.user, round_id=round_id)
    building_id = _int_or_none(request.GET.get("building"))
    building = None
    if building_id:
        building = get_scoped_or_404(
            Building.objects.select_related("compound"), request.user, Action.VIEW_SCREENING, pk=building_id
        )
    residents = selectors.missed_list(user=request.user, round_=round_, building_id=building_id)
    page = paginate(request, residents)
    stats = selectors.round_stats(user=request.user, round_=round_)
    rows = [r for r in stats["buildings"] if r["missed"] and r["building"] is not None]
    selectors.reminders_for(user=request.user, round_=round_, rows=rows)
    return render(
        request,
        "screening/missed.html",
        {
            "round": round_,
            "page": page,
            "building": building,
            "buildings": rows,
            "caps": _caps(request, round_),
            "exempt_form": ExemptForm(),
        },
    )


@login_required
@replica_ok  # lag of a few seconds is fine here; see core.replicas
def missed_export(request, round_id: int):
    round_ = selectors.round_get(user=request.user, round_id=round_id)
    building_id = _int_or_none(request.GET.get("building"))
    if building_id:
        get_scoped_or_404(Building.objects.all(), request.user, Action.VIEW_SCREENING, pk=building_id)
    data = exporting.missed_export(actor=request.user, round_=round_, building_id=building_id)
    response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="missed-round{round_.pk}.xlsx"'
    return response


@login_required
@require_POST
def exempt(request, round_id: int, resident_id: int):
    round_ = selectors.round_get(user=request.user, round_id=round_id, action=Action.MANAGE_ROUNDS)
    resident = get_scoped_or_404(
        Resident.objects.select_related("household"), request.user, Action.MANAGE_ROUNDS, pk=resident_id
    )
    form = ExemptForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写免检原因"))
    else:
        try:
            services.exemption_add(
                actor=request.user, round_=round_, resident=resident, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("已登记免检: %(name)s") % {"name": resident.name})
    back = request.POST.get("next", "")
    if back.startswith("/") and not back.startswith("//"):
        return redirect(back)
    return redirect("screening:missed", round_id=round_.pk)


@login_required
def exemptions(request, round_id: int):
    round_ = selectors.round_get(user=request.user, round_id=round_id)
    qs = restrict(
        Exemption.objects.filter(round=round_).select_related("resident__household__building"),
        request.user,
        Action.VIEW_SCREENING,
    ).order_by("building_id", "id")
    if request.method == "POST":
        ex = get_scoped_or_404(qs, request.user, Action.MANAGE_ROUNDS, pk=_int_or_none(request.POST.get("exemption")))
        services.exemption_remove(actor=request.user, exemption=ex)
        messages.success(request, _("已取消免检。"))
        return redirect("screening:exemptions", round_id=round_.pk)
    return render(
        request,
        "screening/exemptions.html",
        {"round": round_, "page": paginate(request, qs), "caps": _caps(request, round_)},
    )


@login_required
@replica_ok  # lag of a few seconds is fine here; see core.replicas
def retests(request, round_id: int):
    round_ = selectors.round_get(user=request.user, round_id=round_id)
    page = paginate(request, selectors.retest_list(user=request.user, round_=round_))
    return render(request, "screening/retests.html", {"round": round_, "page": page, "caps": _caps(request, round_)})


# --- Results --------------------------------------------------------------------------------------


@login_required
def results(request, round_id: int):
    round_ = selectors.round_get(user=request.user, round_id=round_id, action=Action.ENTER_RESULTS)
    form = TubeResultForm(request.POST if request.POST.get("form") == "hand" else None)
    upload = ResultUploadForm(
        request.POST if request.POST.get("form") == "upload" else None,
        request.FILES if request.POST.get("form") == "upload" else None,
    )
    if request.method == "POST" and request.POST.get("form") == "hand" and form.is_valid():
        try:
            outcome = services.tube_result_record(
                actor=request.user,
                round_=round_,
                barcode=form.cleaned_data["barcode"].strip(),
                result=form.cleaned_data["result"],
            )
        except ValidationError as exc:
            form.add_error("barcode", _error_text(exc))
        else:
            msg = _("已录入 %(tube)s: %(result)s") % {
                "tube": outcome.tube.barcode,
                "result": outcome.tube.get_result_display(),
            }
            if outcome.retests:
                msg += _(", %(n)s人列入单采复核并临时居家管控") % {"n": outcome.retests}
            messages.success(request, msg)
            return redirect("screening:results", round_id=round_.pk)
    if request.method == "POST" and request.POST.get("form") == "upload" and upload.is_valid():
        f = upload.cleaned_data["file"]
        if f.size > results_import.MAX_BYTES:
            upload.add_error("file", _("文件过大(上限10MB)"))
        else:
            try:
                job = results_import.result_import_preview(
                    actor=request.user, round_=round_, filename=f.name, data=f.read()
                )
            except ValidationError as exc:
                upload.add_error("file", _error_text(exc))
            else:
                return redirect("screening:results_preview", round_id=round_.pk, job_id=job.pk)
    tubes = Tube.objects.filter(round=round_).order_by("result", "-closed_at", "id")
    status = request.GET.get("status", "")
    if status == "pending":
        tubes = tubes.filter(result=TubeResult.PENDING, status=TubeStatus.CLOSED)
    elif status == "positive":
        tubes = tubes.filter(result=TubeResult.POSITIVE)
    return render(
        request,
        "screening/results.html",
        {"round": round_, "form": form, "upload": upload, "page": paginate(request, tubes), "status": status},
    )


@login_required
def results_preview(request, round_id: int, job_id: int):
    round_ = selectors.round_get(user=request.user, round_id=round_id, action=Action.ENTER_RESULTS)
    job = get_scoped_or_404(ResultImport.objects.filter(round=round_), request.user, Action.ENTER_RESULTS, pk=job_id)
    if request.method == "POST":
        try:
            counts = results_import.result_import_commit(actor=request.user, job=job)
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
            return redirect("screening:results_preview", round_id=round_.pk, job_id=job.pk)
        messages.success(
            request,
            _("已导入 %(ok)s 条结果, 其中阳性 %(pos)s 管, %(retests)s 人列入单采复核。")
            % {"ok": counts["ok"], "pos": counts["positive"], "retests": counts.get("retests", 0)},
        )
        return redirect("screening:results", round_id=round_.pk)
    rows = job.report.get("rows", [])
    errors = [r for r in rows if r["state"] == "error"]
    return render(
        request,
        "screening/results_preview.html",
        {
            "round": round_,
            "job": job,
            "counts": job.report.get("counts", {}),
            "errors": errors[:200],
            "rows": rows[:200],
        },
    )


# --- Sampler page ---------------------------------------------------------------------------------


def _session_key(round_) -> str:
    return f"screening.tube.{round_.pk}"


def _current_tube(request, round_) -> Tube | None:
    barcode = request.session.get(_session_key(round_))
    if not barcode:
        return None
    return Tube.objects.filter(round=round_, barcode=barcode).first()


def _sampler_context(request, round_, *, state="idle", message="", sound="") -> dict:
    tube = _current_tube(request, round_)
    if tube is not None and tube.status != TubeStatus.OPEN:
        request.session.pop(_session_key(round_), None)
        tube = None
    recent = []
    if tube is not None:
        recent = list(tube.samples.select_related("resident").order_by("-id")[:20])
    if not message:
        message = _("请扫描试管条码开管") if tube is None else _("请扫描居民核酸码")
    return {
        "round": round_,
        "tube": tube,
        "recent": recent,
        "undo": _undoable(request, round_),
        "state": state,
        "message": message,
        "sound": sound,
        "person_form": PersonForm(),
    }


def _undoable(request, round_) -> dict | None:
    """The sampler's own last scan in this round while it may still be undone (one query)."""
    if not round_.is_open:
        return None
    since = timezone.now() - dt.timedelta(seconds=services.UNDO_SECONDS)
    last = (
        Sample.objects.filter(round=round_, sampled_by=request.user)
        .select_related("resident", "tube")
        .order_by("-id")
        .first()
    )
    if last is None or last.sampled_at < since or last.tube.result != TubeResult.PENDING:
        return None
    left = services.UNDO_SECONDS - int((timezone.now() - last.sampled_at).total_seconds())
    return {"sample": last, "seconds": max(left, 1)}


@login_required
def sampler_home(request):
    if not can(request.user, Action.SAMPLE):
        raise Http404
    today = timezone.localdate()
    rounds_ = selectors.round_list(user=request.user, action=Action.SAMPLE).filter(
        status=RoundStatus.OPEN, date__gte=today - dt.timedelta(days=1)
    )
    rounds_ = list(rounds_[:20])
    if len(rounds_) == 1:
        return redirect("screening:sampler", round_id=rounds_[0].pk)
    return render(request, "screening/sampler_home.html", {"rounds": rounds_})


@login_required
def sampler(request, round_id: int):
    round_ = selectors.round_get(user=request.user, round_id=round_id, action=Action.SAMPLE)
    return render(request, "screening/sampler.html", _sampler_context(request, round_))


def _sampler_answer(request, round_, **kw):
    context = _sampler_context(request, round_, **kw)
    if request.htmx:
        return render(request, "screening/sampler.html#panel", context)
    return render(request, "screening/sampler.html", context)


@login_required
@require_POST
def sampler_scan(request, round_id: int):
    round_ = selectors.round_get(user=request.user, round_id=round_id, action=Action.SAMPLE)
    text = (request.POST.get("code") or "").strip()[:60]
    key = _session_key(round_)
    if not text:
        return _sampler_answer(request, round_, state="error", message=_("请扫码或输入后按回车"), sound="error")
    if looks_like_resident_code(text):
        barcode = request.session.get(key)
        if not barcode:
            return _sampler_answer(request, round_, state="error", message=_("请先扫描试管条码开管"), sound="error")
        try:
            outcome = services.sample_scan(
                actor=request.user, round_=round_, tube_barcode=barcode, resident_code=text, open_tube=False
            )
        except services.ScanRejected as exc:
            if exc.code in ("tube_closed", "tube_full", "unknown_tube"):
                request.session.pop(key, None)
            return _sampler_answer(request, round_, state="error", message=exc.message_text, sound="error")
        if outcome.full:
            request.session.pop(key, None)
            message = _("%(name)s ✓ 试管 %(tube)s 已满 %(n)s/%(n)s, 已封管, 请扫新试管") % {
                "name": outcome.name,
                "tube": outcome.tube.barcode,
                "n": outcome.tube.pool_size,
            }
            return _sampler_answer(request, round_, state="full", message=message, sound="full")
        message = _("%(name)s ✓ %(fill)s/%(size)s") % {
            "name": outcome.name,
            "fill": outcome.tube.fill_count,
            "size": outcome.tube.pool_size,
        }
        return _sampler_answer(request, round_, state="ok", message=message, sound="ok")
    try:
        tube = services.tube_open(
            actor=request.user, round_=round_, barcode=text, is_retest=request.POST.get("retest") == "1"
        )
    except services.ScanRejected as exc:
        return _sampler_answer(request, round_, state="error", message=exc.message_text, sound="error")
    request.session[key] = tube.barcode
    message = _("已开管 %(tube)s (%(fill)s/%(size)s), 请扫居民核酸码") % {
        "tube": tube.barcode,
        "fill": tube.fill_count,
        "size": tube.pool_size,
    }
    return _sampler_answer(request, round_, state="tube", message=message, sound="tube")


@login_required
@require_POST
def sampler_close(request, round_id: int):
    round_ = selectors.round_get(user=request.user, round_id=round_id, action=Action.SAMPLE)
    tube = _current_tube(request, round_)
    if tube is None:
        return _sampler_answer(request, round_, state="error", message=_("当前没有打开的试管"), sound="error")
    tube = services.tube_close(actor=request.user, tube=tube)
    request.session.pop(_session_key(round_), None)
    message = _("试管 %(tube)s 已封管 (%(fill)s/%(size)s), 请扫新试管") % {
        "tube": tube.barcode,
        "fill": tube.fill_count,
        "size": tube.pool_size,
    }
    return _sampler_answer(request, round_, state="full", message=message, sound="full")


@login_required
@require_POST
def sampler_undo(request, round_id: int):
    """Undo the sampler's own last scan, within a minute (``services.sample_undo``)."""
    round_ = selectors.round_get(user=request.user, round_id=round_id, action=Action.SAMPLE)
    try:
        outcome = services.sample_undo(
            actor=request.user, round_=round_, sample_id=_int_or_none(request.POST.get("sample")) or 0
        )
    except services.ScanRejected as exc:
        return _sampler_answer(request, round_, state="error", message=exc.message_text, sound="error")
    tube = outcome.tube
    if tube.status == TubeStatus.OPEN:
        # Back in the tube the undone swab was in: the next scan fills the place it freed.
        request.session[_session_key(round_)] = tube.barcode
    message = _("已撤销 %(name)s, 试管 %(tube)s 现为 %(fill)s/%(size)s") % {
        "name": outcome.name,
        "tube": tube.barcode,
        "fill": tube.fill_count,
        "size": tube.pool_size,
    }
    return _sampler_answer(request, round_, state="tube", message=message, sound="tube")


@login_required
@require_POST
def sampler_person(request, round_id: int):
    round_ = selectors.round_get(user=request.user, round_id=round_id, action=Action.SAMPLE)
    barcode = request.session.get(_session_key(round_))
    form = PersonForm(request.POST)
    if not barcode:
        return _sampler_answer(request, round_, state="error", message=_("请先扫描试管条码开管"), sound="error")
    if not form.is_valid():
        return _sampler_answer(request, round_, state="error", message=_("请填写姓名"), sound="error")
    try:
        outcome = services.sample_scan_person(
            actor=request.user, round_=round_, tube_barcode=barcode, open_tube=False, **form.cleaned_data
        )
    except ValidationError as exc:
        return _sampler_answer(request, round_, state="error", message=_error_text(exc), sound="error")
    state = "full" if outcome.full else "ok"
    if outcome.full:
        request.session.pop(_session_key(round_), None)
    message = _("%(name)s(非名单) ✓ %(fill)s/%(size)s") % {
        "name": outcome.name,
        "fill": outcome.tube.fill_count,
        "size": outcome.tube.pool_size,
    }
    return _sampler_answer(request, round_, state=state, message=message, sound=state)


# --- Sampling cards -------------------------------------------------------------------------------


@login_required
def cards(request):
    """Printable sampling-code cards for residents without a smartphone, per building."""
    action = Action.MANAGE_ROUNDS if can(request.user, Action.MANAGE_ROUNDS) else Action.REPORT_ANTIGEN
    if not can(request.user, action):
        raise Http404
    buildings = restrict(Building.objects.select_related("compound"), request.user, action).order_by(
        "compound_id", "sort_key"
    )
    building_id = _int_or_none(request.GET.get("building"))
    building = get_scoped_or_404(buildings, request.user, action, pk=building_id) if building_id else None
    everyone = request.GET.get("all") == "1"
    people = []
    if building is not None:
        qs = restrict(
            Resident.objects.filter(household__building=building).select_related("household"), request.user, action
        )
        if not everyone:
            qs = qs.filter(tag_rows__tag=Tag.NO_SMARTPHONE)
        for r in qs.order_by("household__unit", "household__room", "id")[:500]:
            code = sampling_code(r.pk)
            people.append({"resident": r, "code": code, "qr": qr_svg(code)})
    return render(
        request,
        "screening/cards.html",
        {"buildings": buildings, "building": building, "people": people, "everyone": everyone},
    )


# --- Antigen --------------------------------------------------------------------------------------


@login_required
@replica_ok  # lag of a few seconds is fine here; see core.replicas
def antigen(request):
    if not can(request.user, Action.VIEW_SCREENING):
        raise Http404
    date = _date_or_today(request.GET.get("date"))
    completion = selectors.antigen_completion(user=request.user, date=date)
    building_id = _int_or_none(request.GET.get("building"))
    building = None
    rows = []
    page = None
    can_report = can(request.user, Action.REPORT_ANTIGEN)
    if building_id and can_report:
        building = get_scoped_or_404(
            Building.objects.select_related("compound"), request.user, Action.REPORT_ANTIGEN, pk=building_id
        )
        no_phone = request.GET.get("no_phone", "1") == "1"
        page = paginate(
            request,
            selectors.antigen_residents(user=request.user, date=date, building_id=building.pk, no_phone_only=no_phone),
        )
        reports = selectors.antigen_reports_for(resident_ids=[r.pk for r in page.object_list], date=date)
        rows = [{"resident": r, "report": reports.get(r.pk)} for r in page.object_list]
    positives = selectors.antigen_positive_list(user=request.user, since=date)[:50]
    return render(
        request,
        "screening/antigen.html",
        {
            "date": date,
            "today": timezone.localdate(),
            "completion": completion,
            "building": building,
            "rows": rows,
            "page": page,
            "can_report": can_report,
            "positives": positives,
            "can_confirm": can(request.user, Action.MANAGE_CASES),
            "no_phone": request.GET.get("no_phone", "1") == "1",
        },
    )


@login_required
@require_POST
def antigen_report(request):
    form = AntigenForm(request.POST, request.FILES)
    back = request.POST.get("next", "")
    if not back.startswith("/") or back.startswith("//"):
        back = "/screening/antigen/"
    if not form.is_valid():
        if "confirm_positive" in form.errors and "result" not in form.errors:
            messages.error(request, form.errors["confirm_positive"][0])
        else:
            messages.error(request, _("请选择结果"))
        return redirect(back)
    resident = get_scoped_or_404(
        Resident.objects.select_related("household"),
        request.user,
        Action.REPORT_ANTIGEN,
        pk=form.cleaned_data["resident"],
    )
    date = _date_or_today(request.POST.get("date"))
    try:
        report, created = services.antigen_report_submit(
            actor=request.user,
            resident=resident,
            date=date,
            result=form.cleaned_data["result"],
            photo=form.cleaned_data.get("photo"),
            channel=ReportChannel.STAFF,
        )
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        text = (_("已代报: %(name)s") if created else _("已更新: %(name)s")) % {"name": resident.name}
        if report.result == "positive" and report.confirmed_at is None:
            text += _("。抗原阳性: 已临时居家管控并列入核酸复核名单, 请告知本人居家等待复核。")
        messages.success(request, text)
    return redirect(back)


@login_required
@require_POST
def antigen_confirm(request, report_id: int):
    """Staff confirm a positive antigen report: the case opens now (``MANAGE_CASES``, audited)."""
    report = get_scoped_or_404(
        AntigenReport.objects.select_related("resident"), request.user, Action.MANAGE_CASES, pk=report_id
    )
    form = AntigenConfirmForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.antigen_report_confirm(actor=request.user, report=report, note=note)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request,
            _("已确认 %(name)s 抗原阳性, 已登记为阳性病例, 分区等级已重新计算。") % {"name": report.resident.name},
        )
    back = request.POST.get("next", "")
    if back.startswith("/") and not back.startswith("//"):
        return redirect(back)
    return redirect(reverse("screening:antigen") + "#antigen-positives")


@login_required
def antigen_photo(request, report_id: int):
    report = get_scoped_or_404(AntigenReport.objects.all(), request.user, Action.VIEW_SCREENING, pk=report_id)
    handle, content_type = services.antigen_photo_open(actor=request.user, report=report)
    return FileResponse(handle, content_type=content_type)
