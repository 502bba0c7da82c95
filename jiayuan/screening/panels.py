"""Panels on shared pages: the household link page (sampling QR codes and today's antigen
report) and the staff home page (positive results)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from jiayuan.core.permissions import Action
from jiayuan.core.qr import qr_svg
from jiayuan.core.scoping import can
from jiayuan.people.choices import Presence
from jiayuan.screening import selectors
from jiayuan.screening.choices import AntigenResult
from jiayuan.screening.codes import sampling_code


def household_panel(request, household, link):
    today = timezone.localdate()
    residents = list(household.residents.filter(presence=Presence.PRESENT).order_by("id"))
    if not residents:
        return None
    reports = selectors.antigen_reports_for(resident_ids=[r.pk for r in residents], date=today)
    members = []
    for r in residents:
        code = sampling_code(r.pk)
        members.append(
            {
                "resident": r,
                "code": code,
                "qr": qr_svg(code, scale=5),
                "report": reports.get(r.pk),
            }
        )
    return "screening/household_panel.html", {
        "members": members,
        "today": today,
        "token": request.resolver_match.kwargs.get("token") if request.resolver_match else "",
        "results": AntigenResult.choices,
    }


def home_panel(request):
    user = request.user
    if not can(user, Action.VIEW_SCREENING):
        return None
    today = timezone.localdate()
    since = today - dt.timedelta(days=1)
    antigen = list(selectors.antigen_positive_list(user=user, since=since)[:20])
    tubes = list(selectors.pcr_positive_list(user=user, since=today - dt.timedelta(days=2))[:20])
    if not antigen and not tubes:
        return None
    return "screening/home_panel.html", {"antigen": antigen, "tubes": tubes, "today": today}
