"""The household enters its members' temperature checks through its link (no account)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiayuan.accounts.services import household_link_resolve
from jiayuan.control import services
from jiayuan.control.choices import CheckSource, QuarantineStatus
from jiayuan.control.models import Quarantine


@require_POST
def health_check(request, token: str):
    link = household_link_resolve(token)
    if link is None:
        return render(request, "places/household_link_invalid.html", status=404)
    try:
        qid = int(request.POST.get("quarantine", ""))
    except ValueError:
        qid = 0
    # Only this household's own active quarantines: anything else is the invalid-link page.
    q = Quarantine.objects.filter(pk=qid, household_id=link.household_id, status=QuarantineStatus.ACTIVE).first()
    if q is None:
        return render(request, "places/household_link_invalid.html", status=404)
    try:
        check, _created = services.health_check_record(
            actor=None,
            quarantine=q,
            on=timezone.localdate(),
            slot=request.POST.get("slot", ""),
            temperature=request.POST.get("temperature", ""),
            symptoms=request.POST.getlist("symptoms"),
            door_sensor=request.POST.get("door_sensor", ""),
            source=CheckSource.HOUSEHOLD,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if check.alert:
            messages.warning(request, _("已提交。体温偏高或有症状, 居委会会尽快联系您, 请留在家中。"))
        else:
            messages.success(request, _("已提交, 谢谢。"))
    return redirect("household_home", token=token)
