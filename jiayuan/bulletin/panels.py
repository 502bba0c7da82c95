"""The staff home page's card for those who see counts but no names (street officers): the roll-up
and the trends."""

from __future__ import annotations

from jiayuan.bulletin import selectors
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can


def home_panel(request):
    user = request.user
    if not can(user, Action.VIEW_COUNTS) or can(user, Action.VIEW_ROSTER):
        return None
    return "bulletin/home_panel.html", {}


def leader_panel(request):
    """For those who knock on doors (building leaders): notices of the last two weeks asking for
    acknowledgement, with the way to the households that have not read them (one query)."""
    user = request.user
    if can(user, Action.MANAGE_NOTICES) or not can(user, Action.VIEW_ROSTER):
        return None
    if not selectors.recent_ack_notices(user=user).exists():
        return None
    return "bulletin/leader_panel.html", {}
