"""Panels the control app adds to shared pages (registered in ControlConfig.ready)."""

from __future__ import annotations

from django.utils import timezone

from jiayuan.control import selectors
from jiayuan.control.choices import Slot, Symptom
from jiayuan.control.models import HealthCheck
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can

HOME_LIMIT = 10


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
    """On the staff home page, for VIEW_CONTROL users only (never street officers): today's
    fever/symptom alerts, the quarantines due for release today (or overdue), and the number of
    people whose checks are still missing. Nothing to show: no panel."""
    user = request.user
    if not can(user, Action.VIEW_CONTROL):
        return None
    today = timezone.localdate()
    alerts_qs = selectors.health_alerts(user=user, since=today)
    alerts = list(alerts_qs[:HOME_LIMIT])
    alerts_count = len(alerts) if len(alerts) < HOME_LIMIT else alerts_qs.count()
    due_qs = selectors.quarantines_due(user=user, on=today).order_by("planned_end", "id")
    due = list(due_qs[:HOME_LIMIT])
    due_count = len(due) if len(due) < HOME_LIMIT else due_qs.count()
    missing = selectors.checks_due(user=user, on=today, missing_only=True)
    if not alerts and not due and not missing:
        return None
    return (
        "control/panel_home.html",
        {
            "alerts": alerts,
            "alerts_count": alerts_count,
            "due": due,
            "due_count": due_count,
            "missing_count": len(missing),
            "today": today,
        },
    )
