"""Panels the control app adds to shared pages (registered in ControlConfig.ready)."""

from __future__ import annotations

from django.utils import timezone

from jiayuan.control import selectors
from jiayuan.control.choices import Slot, Symptom
from jiayuan.control.models import HealthCheck
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can


def household_health_panel(request, household, link):
    """On the household's link page, only while someone of the household is under quarantine or
    health monitoring: today's two temperature checks to fill in."""
    quarantines = selectors.household_under_control(household)
    if not quarantines:
        return None
    today = timezone.localdate()
    done = {
        (c.quarantine_id, c.slot): c
        for c in HealthCheck.objects.filter(quarantine__in=[q.pk for q in quarantines], on=today)
    }
    people = [
        {"q": q, "morning": done.get((q.pk, Slot.MORNING)), "afternoon": done.get((q.pk, Slot.AFTERNOON))}
        for q in quarantines
    ]
    token = request.resolver_match.kwargs.get("token", "") if request.resolver_match else ""
    return (
        "control/panel_household.html",
        {"people": people, "today": today, "token": token, "slots": Slot.choices, "symptoms": Symptom.choices},
    )


def home_alerts_panel(request):
    """On the staff home page, for VIEW_CONTROL users: today's fever/symptom alerts and the
    number of checks still missing."""
    user = request.user
    if not can(user, Action.VIEW_CONTROL):
        return None
    alerts = list(selectors.health_alerts(user=user)[:20])
    missing = selectors.checks_due(user=user, missing_only=True)
    if not alerts and not missing:
        return None
    return ("control/panel_home.html", {"alerts": alerts, "missing_count": len(missing)})
