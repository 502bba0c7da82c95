"""The staff home page's cards of the bulletin app: the roll-up and trends for those who see counts
but no names (street officers); the unread lists for building leaders."""

from __future__ import annotations

from jiayuan.bulletin import selectors
from jiayuan.core.permissions import Action, Role
from jiayuan.core.scoping import can, roles


def home_panel(request):
    user = request.user
    if not can(user, Action.VIEW_COUNTS) or can(user, Action.VIEW_ROSTER):
        return None
    return "bulletin/home_panel.html", {}


def leader_panel(request):
    """For those who knock on doors (building leaders): notices of the last two weeks asking for
    acknowledgement, with the way to the households that have not read them (one query)."""
    user = request.user
    if Role.BUILDING_LEADER not in roles(user) or can(user, Action.MANAGE_NOTICES):
        return None
    if not selectors.recent_ack_notices(user=user).exists():
        return None
    return "bulletin/leader_panel.html", {}
