"""The page a household opens through its link (``/h/<token>/gates/``): its visitors and parcels."""

from __future__ import annotations

from django.shortcuts import render

from jiayuan.accounts.household_views import page_token
from jiayuan.accounts.services import household_link_resolve
from jiayuan.gates import selectors


def _context(household) -> dict:
    parcels = selectors.household_parcels(household=household)
    return {
        "household": household,
        "parcels": parcels,
        "waiting": [p for p in parcels if p.status in ("arrived", "disinfected")],
        "visits": selectors.household_visits(household=household),
    }


def panel(request, household, link):
    """The household home page's gate card: parcels waiting (with the pickup code) and visits."""
    context = _context(household)
    if not context["waiting"] and not context["visits"]:
        return None
    context["token"] = page_token(request, link)
    return "gates/household/panel.html", context


def home(request, token):
    link = household_link_resolve(token)
    if link is None:
        return render(request, "places/household_link_invalid.html", status=404)
    context = _context(link.household)
    context["token"] = token
    return render(request, "gates/household/home.html", context)
