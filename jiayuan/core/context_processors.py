from __future__ import annotations

from jiayuan.core.extensions import nav_items
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can


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
    }
