"""Panels on shared pages: the household link page (sampling QR codes and today's antigen
report) and the staff home page (positive results)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from jiayuan.control import selectors as control_selectors
from jiayuan.core.permissions import Action
from jiayuan.core.qr import qr_svg
from jiayuan.core.scoping import can
from jiayuan.people.choices import Presence
from jiayuan.screening import selectors
from jiayuan.screening.choices import AntigenResult, RetestStatus
from jiayuan.screening.codes import sampling_code


def household_panel(request, household, link):
    today = timezone.localdate()
    residents = list(household.residents.without_secrets().filter(presence=Presence.PRESENT).order_by("id"))
    if not residents:
        return None
    reports = selectors.antigen_reports_for(resident_ids=[r.pk for r in residents], date=today)
    retests = selectors.antigen_retests_for(resident_ids=[r.pk for r in residents])
    members = []
    for r in residents:
        code = sampling_code(r.pk)
        members.append(
            {
                "resident": r,
                "code": code,
                "qr": qr_svg(code, scale=5),
                "report": reports.get(r.pk),
                "retest": retests.get(r.pk),
            }
        )
    return "screening/household_panel.html", {
        "members": members,
        "today": today,
        "token": request.resolver_match.kwargs.get("token") if request.resolver_match else "",
        "results": AntigenResult.choices,
        "next": _antigen_next(household, residents, retests),
    }


def _antigen_next(household, residents, retests) -> dict | None:
    """What the household does next after a positive antigen report (抗原阳性待核酸复核), a
    confirmation, or a negative retest (shown for two days): None when nothing of the kind."""
    recent = timezone.now() - dt.timedelta(days=2)
    waiting = [r for r in residents if r.pk in retests and retests[r.pk].awaiting_pcr]
    confirmed = [
        r
        for r in residents
        if r.pk in retests
        and retests[r.pk].status in (RetestStatus.CONFIRMED, RetestStatus.POSITIVE)
        and retests[r.pk].resolved_at
        and retests[r.pk].resolved_at >= recent
    ]
    cleared = [
        r
        for r in residents
        if r.pk in retests
        and retests[r.pk].status == RetestStatus.NEGATIVE
        and retests[r.pk].resolved_at
        and retests[r.pk].resolved_at >= recent
    ]
    if not (waiting or confirmed or cleared):
        return None
    controls = control_selectors.household_under_control(household)
    housemates_home = any(q.via_household for q in controls)
    return {
        "waiting": waiting,
        "confirmed": confirmed,
        "cleared": cleared,
        "sampled": [r for r in waiting if retests[r.pk].status == RetestStatus.SAMPLED],
        "housemates_home": housemates_home,
        "hotline": control_selectors.committee_hotline(residents[0].neighbourhood_id),
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
