"""The household's own antigen report, through its link (no account)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiayuan.accounts.services import household_link_parse, household_link_resolve
from jiayuan.screening import services
from jiayuan.screening.choices import AntigenResult, ReportChannel
from jiayuan.screening.forms import AntigenForm


@require_POST
def antigen_report(request, token: str):
    form = AntigenForm(request.POST, request.FILES)
    back = reverse("household_home", args=[token]) + "#screening"
    parsed = household_link_parse(token)
    if parsed is not None and form.is_valid() and not form.cleaned_data.get("photo"):
        # The day's first negative or invalid report: the link (live, its household's resident)
        # and the report in ONE statement (ADR 0019, ADR 0023); anything else — a dead link, a
        # positive, a photo, a second report — is answered below, the link read first.
        name = services.antigen_report_fast(
            link=parsed,
            resident_id=form.cleaned_data["resident"],
            date=timezone.localdate(),
            result=form.cleaned_data["result"],
        )
        if name is not None:
            messages.success(request, _("已上报: %(name)s") % {"name": name})
            return redirect(back)
    link = household_link_resolve(token)
    if link is None:
        return render(request, "places/household_link_invalid.html", status=404)
    if not form.is_valid():
        if "confirm_positive" in form.errors and "result" not in form.errors:
            messages.error(request, form.errors["confirm_positive"][0])
        else:
            messages.error(request, _("请选择检测结果"))
        return redirect(back)
    resident = link.household.residents.select_related("household").filter(pk=form.cleaned_data["resident"]).first()
    if resident is None:
        raise Http404
    try:
        report, created = services.antigen_report_submit(
            actor=None,
            resident=resident,
            date=timezone.localdate(),
            result=form.cleaned_data["result"],
            photo=form.cleaned_data.get("photo"),
            channel=ReportChannel.HOUSEHOLD,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        text = (_("已上报: %(name)s") if created else _("已更新今天的结果: %(name)s")) % {"name": resident.name}
        if report.result == AntigenResult.POSITIVE:
            # What to do next is on the page just below (the 抗原阳性待核酸复核 box).
            messages.warning(request, text + _("。请留在家中, 不要外出, 按下方说明等待核酸复核。"))
            back = reverse("household_home", args=[token]) + "#antigen-next"
        else:
            messages.success(request, text)
    return redirect(back)
