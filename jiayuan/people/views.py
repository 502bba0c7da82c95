"""Resident pages. Thin: resolve through the user's scope, call a service or selector, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiayuan.core import spreadsheets
from jiayuan.core.extensions import render_panels, resident_panels
from jiayuan.core.pagination import paginate
from jiayuan.core.permissions import Action
from jiayuan.core.replicas import replica_ok
from jiayuan.core.scoping import can, get_scoped_or_404, restrict
from jiayuan.people import exporter, import_jobs, selectors, services
from jiayuan.people.choices import ImportStatus, Presence, Tag
from jiayuan.people.forms import ImportUploadForm, ResidentForm
from jiayuan.people.models import RosterImport
from jiayuan.places import selectors as place_selectors
from jiayuan.places.models import Building, Neighbourhood


def _int_or_none(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@login_required
@replica_ok  # lag of a few seconds is fine here; see core.replicas
def resident_list(request):
    if not can(request.user, Action.VIEW_ROSTER):
        raise Http404
    q = request.GET.get("q", "")[:64]
    tag = request.GET.get("tag", "") if request.GET.get("tag") in Tag.values else ""
    presence = request.GET.get("presence", "") if request.GET.get("presence") in Presence.values else ""
    building_id = _int_or_none(request.GET.get("building"))
    building = None
    if building_id:
        building = place_selectors.building_get(user=request.user, building_id=building_id, action=Action.VIEW_ROSTER)
    residents = selectors.resident_list(
        user=request.user, search=q, building_id=building_id, tag=tag, presence=presence
    )
    context = {
        "page": paginate(request, residents),
        "q": q,
        "tag": tag,
        "presence": presence,
        "building": building,
        "tags": Tag.choices,
        "presences": Presence.choices,
    }
    template = "people/resident_list.html#results" if request.htmx else "people/resident_list.html"
    return render(request, template, context)


@login_required
def resident_detail(request, resident_id: int):
    resident = selectors.resident_get(user=request.user, resident_id=resident_id)
    return _render_detail(request, resident)


def _render_detail(request, resident, revealed: dict[str, str] | None = None):
    return render(
        request,
        "people/resident_detail.html",
        {
            "resident": resident,
            "revealed": revealed or {},
            "can_reveal": can(request.user, Action.REVEAL_PII, resident),
            "can_change": can(request.user, Action.CHANGE_RESIDENT, resident),
            "panels": render_panels(resident_panels(), request, resident),
        },
    )


@login_required
@require_POST
def resident_reveal(request, resident_id: int, field: str):
    """Show one full ID number or phone; audited. A fragment for htmx, else the page with it shown.

    The value is only ever in this response: never in a flash message, whose default storage
    is a cookie.
    """
    resident = selectors.resident_get(user=request.user, resident_id=resident_id, action=Action.REVEAL_PII)
    try:
        value = services.resident_reveal(actor=request.user, resident=resident, field=field)
    except ValidationError as exc:
        raise Http404 from exc
    if request.htmx:
        return render(request, "people/resident_detail.html#revealed", {"value": value, "field": field})
    return _render_detail(request, resident, revealed={field: value})


def _buildings_for_change(user):
    return restrict(Building.objects.select_related("compound"), user, Action.CHANGE_RESIDENT).order_by(
        "compound__name", "sort_key", "number"
    )


def _save_resident(request, form: ResidentForm, resident=None):
    data = form.cleaned_data
    fields = {
        k: data[k]
        for k in (
            "name",
            "gender",
            "birth_date",
            "id_type",
            "id_number",
            "phone",
            "relation_to_head",
            "residency",
            "presence",
            "tags",
            "notes",
        )
    }
    if resident is not None:
        # On edit the ID number and phone fields start empty (never pre-filled in clear):
        # empty means "unchanged".
        for key in ("id_number", "phone"):
            if not fields[key]:
                fields.pop(key)
    return services.resident_save_at_address(
        actor=request.user, resident=resident, building=data["building"], unit=data["unit"], room=data["room"], **fields
    )


@login_required
def resident_create(request):
    buildings = _buildings_for_change(request.user)
    if not buildings.exists():
        raise Http404
    initial = {}
    household_id = _int_or_none(request.GET.get("household"))
    building_id = _int_or_none(request.GET.get("building"))
    if building_id and buildings.filter(pk=building_id).exists():
        initial = {"building": building_id}
    if household_id:
        household = place_selectors.household_get(
            user=request.user, household_id=household_id, action=Action.CHANGE_RESIDENT
        )
        initial = {"building": household.building_id, "unit": household.unit, "room": household.room}
    form = ResidentForm(request.POST or None, buildings=buildings, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            resident = _save_resident(request, form)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("已登记居民 %(name)s") % {"name": resident.name})
            return redirect("people:detail", resident_id=resident.pk)
    return render(
        request, "people/resident_form.html", {"form": form, "resident": None}, status=400 if form.errors else 200
    )


@login_required
def resident_edit(request, resident_id: int):
    resident = selectors.resident_get(user=request.user, resident_id=resident_id, action=Action.CHANGE_RESIDENT)
    buildings = _buildings_for_change(request.user)
    h = resident.household
    initial = {
        "building": h.building_id if h else None,
        "unit": h.unit if h else "",
        "room": h.room if h else "",
        "name": resident.name,
        "id_type": resident.id_type,
        "gender": resident.gender,
        "birth_date": resident.birth_date,
        "relation_to_head": resident.relation_to_head,
        "residency": resident.residency,
        "presence": resident.presence,
        "tags": resident.tags,
        "notes": resident.notes,
    }
    form = ResidentForm(request.POST or None, buildings=buildings, initial=initial)
    form.fields["id_number"].widget.attrs["placeholder"] = resident.id_number_masked
    form.fields["phone"].widget.attrs["placeholder"] = resident.phone_masked
    form.fields["id_number"].help_text = form.fields["phone"].help_text = _("留空表示不修改")
    if request.method == "POST" and form.is_valid():
        try:
            _save_resident(request, form, resident)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("people:detail", resident_id=resident.pk)
    return render(
        request, "people/resident_form.html", {"form": form, "resident": resident}, status=400 if form.errors else 200
    )


# --- Import wizard ---------------------------------------------------------------------------


def _import_neighbourhoods(user):
    return restrict(Neighbourhood.objects.all(), user, Action.IMPORT_ROSTER)


@login_required
def import_upload(request):
    neighbourhoods = _import_neighbourhoods(request.user)
    if not neighbourhoods.exists():
        raise Http404
    form = ImportUploadForm(request.POST or None, request.FILES or None, neighbourhoods=neighbourhoods)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        job = import_jobs.roster_import_start(
            actor=request.user,
            neighbourhood=form.cleaned_data["neighbourhood"],
            filename=upload.name,
            data=upload.read(),
        )
        return redirect("people:import_status", job_id=job.pk)
    recent = [
        import_jobs.roster_import_expire(job)
        for job in restrict(RosterImport.objects.defer("data"), request.user, Action.IMPORT_ROSTER)[:10]
    ]
    limits = spreadsheets.Limits.from_settings()
    context = {
        "form": form,
        "recent": recent,
        "max_rows": f"{limits.max_rows:,}",
        "max_columns": f"{limits.max_columns:,}",
    }
    return render(request, "people/import_upload.html", context, status=400 if form.errors else 200)


def _job(request, job_id: int) -> RosterImport:
    return get_scoped_or_404(RosterImport.objects.defer("data"), request.user, Action.IMPORT_ROSTER, pk=job_id)


@login_required
def import_status(request, job_id: int):
    job = import_jobs.roster_import_expire(_job(request, job_id))  # a run gone with a restart shows as failed
    done, total = import_jobs.roster_import_progress(job)
    running = job.status in (ImportStatus.PREVIEWING, ImportStatus.COMMITTING)
    context = {
        "job": job,
        "running": running,
        "done": done,
        "total": total,
        "percent": round(100 * done / total) if total else 0,
        "report": job.report,
        "errors": job.report.get("errors", [])[:500],
        # Checking again helps when the run was cut off, not when the file itself was refused.
        "interrupted": job.error in (import_jobs.MSG_INTERRUPTED, import_jobs.MSG_INTERNAL),
    }
    template = "people/import_status.html#job" if request.htmx else "people/import_status.html"
    return render(request, template, context)


@login_required
@require_POST
def import_commit(request, job_id: int):
    job = _job(request, job_id)
    try:
        import_jobs.roster_import_commit(actor=request.user, job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("people:import_status", job_id=job.pk)


@login_required
@require_POST
def import_restart(request, job_id: int):
    """Check a failed or interrupted job's file again (no new upload needed)."""
    job = _job(request, job_id)
    try:
        import_jobs.roster_import_restart(actor=request.user, job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("people:import_status", job_id=job.pk)


@login_required
def import_template(request):
    """An xlsx with the headers the importer reads and one example row, to fill in."""
    neighbourhoods = _import_neighbourhoods(request.user)
    if not neighbourhoods.exists():
        raise Http404
    data = exporter.roster_template(neighbourhood=neighbourhoods.first())
    response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = 'attachment; filename="roster-template.xlsx"'
    return response


# --- Export ----------------------------------------------------------------------------------


@login_required
@replica_ok  # lag of a few seconds is fine here; see core.replicas
def export(request):
    if not can(request.user, Action.EXPORT_ROSTER):
        raise Http404
    building_id = _int_or_none(request.GET.get("building"))
    if building_id:
        place_selectors.building_get(user=request.user, building_id=building_id, action=Action.EXPORT_ROSTER)
    unmasked = request.GET.get("unmasked") == "1"
    try:
        data = exporter.roster_export(actor=request.user, user=request.user, unmasked=unmasked, building_id=building_id)
    except PermissionDenied:
        messages.error(request, _("您没有导出完整证件号和电话的权限"))
        return redirect("people:list")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    kind = "unmasked" if unmasked else "masked"
    response["Content-Disposition"] = f'attachment; filename="roster-{kind}-{stamp}.xlsx"'
    return response


@login_required
def resident_delete(request, resident_id: int):
    resident = selectors.resident_get(user=request.user, resident_id=resident_id, action=Action.CHANGE_RESIDENT)
    error = ""
    if request.method == "POST":
        try:
            services.resident_delete(actor=request.user, resident=resident, reason=request.POST.get("reason", ""))
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("已删除 %(name)s 的登记") % {"name": resident.name})
            if resident.household_id:
                return redirect("places:household", household_id=resident.household_id)
            return redirect("people:list")
    return render(
        request, "people/resident_delete.html", {"resident": resident, "error": error}, status=400 if error else 200
    )
