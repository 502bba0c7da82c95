from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from jiayuan.core.extensions import home_panels, render_panels, today_items
from jiayuan.core.pagination import paginate
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can
from jiayuan.core.selectors import audit_event_list
from jiayuan.people.selectors import resident_counts, resident_counts_by_neighbourhood
from jiayuan.places.selectors import neighbourhood_list


@login_required
def home(request):
    """Today's work for the user's roles first ("今天要做的事"), then counts for everyone with a
    scope; per-neighbourhood rows for street officers."""
    counts = resident_counts(user=request.user)
    neighbourhoods = neighbourhood_list(user=request.user)
    rows = []
    if neighbourhoods.count() > 1 or not can(request.user, Action.VIEW_ROSTER):
        by_nb = resident_counts_by_neighbourhood(user=request.user)
        empty = {"residents": 0, "households": 0, "presence": [(label, 0) for label, _n in counts["presence"]]}
        rows = [{"neighbourhood": nb, "counts": by_nb.get(nb.pk, empty)} for nb in neighbourhoods[:500]]
    return render(
        request,
        "core/home.html",
        {
            "counts": counts,
            "rows": rows,
            "has_scope": can(request.user, Action.VIEW_COUNTS),
            "today_list": today_items(request),
            "panels": render_panels(home_panels(), request),
        },
    )


@login_required
def audit_log(request):
    if not can(request.user, Action.VIEW_AUDIT):
        raise Http404
    events = audit_event_list(user=request.user, action_prefix=request.GET.get("action", "").strip())
    return render(
        request, "core/audit.html", {"page": paginate(request, events), "action": request.GET.get("action", "")}
    )
