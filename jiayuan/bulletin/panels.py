"""The staff home page's card for those who see counts but no names (street officers): the roll-up
and the trends."""

from __future__ import annotations

from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can


def home_panel(request):
    user = request.user
    if not can(user, Action.VIEW_COUNTS) or can(user, Action.VIEW_ROSTER):
        return None
    return "bulletin/home_panel.html", {}
