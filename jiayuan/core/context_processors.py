from __future__ import annotations

from jiayuan.core.extensions import nav_items
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can


class UserCan:
    """``{% if user_can.deliver_goods %}`` in any template: whether the signed-in user may do an
    action anywhere in their scope (``core.scoping.can``). Show a link only when the user may open
    the page behind it (the view checks the same action). Answers are cached per request."""

    def __init__(self, user):
        self._user = user
        self._cache: dict[str, bool] = {}

    def __getitem__(self, action: str) -> bool:
        if action not in Action.values:
            raise KeyError(action)  # a typo in a template shows nothing rather than everything
        if action not in self._cache:
            self._cache[action] = can(self._user, action)
        return self._cache[action]

    def __contains__(self, action: str) -> bool:
        return action in Action.values


def navigation(request):
    """What the header menu may offer this user."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav": {
            "roster": can(user, Action.VIEW_ROSTER),
            "import": can(user, Action.IMPORT_ROSTER),
            "export": can(user, Action.EXPORT_ROSTER),
            "export_unmasked": can(user, Action.EXPORT_ROSTER_UNMASKED),
            "change": can(user, Action.CHANGE_RESIDENT),
            "audit": can(user, Action.VIEW_AUDIT),
        },
        # Entries the domain apps registered (screening, control, supplies …).
        "nav_extra": [item for item in nav_items() if can(user, item.action)],
        "user_can": UserCan(user),
    }
