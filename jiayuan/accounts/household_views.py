"""The one decorator of every page a household opens through its link (``/h/<token>/...``)."""

from __future__ import annotations

from functools import wraps

from django.shortcuts import render

from jiayuan.accounts.services import household_link_resolve, household_link_token


def with_household_link(view):
    """Resolve ``token`` to its live link; an unknown, revoked or expired one answers the 404
    "link not valid" page. The view is called as ``view(request, token, link, household, ...)``."""

    @wraps(view)
    def wrapped(request, token, *args, **kwargs):
        link = household_link_resolve(token)
        if link is None:
            return render(request, "places/household_link_invalid.html", status=404)
        return view(request, token, link, link.household, *args, **kwargs)

    return wrapped


def page_token(request, link) -> str:
    """The token the household opened this page with, for a panel's links: the same URL the
    household already has (a fresh token, signed now, only where the request has none — signing
    again gave a different URL each second)."""
    match = getattr(request, "resolver_match", None)
    return (match.kwargs.get("token") if match else None) or household_link_token(link)
