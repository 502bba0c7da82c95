"""The volunteers card on a resident's staff page (``extensions.resident_panel``)."""

from __future__ import annotations

from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can
from jiayuan.volunteers.models import Volunteer


def resident(request, resident):
    v = Volunteer.objects.filter(resident=resident).first()
    if v is None:
        return None
    return (
        "volunteers/resident_panel.html",
        {
            "v": v,
            "teams": [m.team for m in v.memberships.select_related("team")],
            "can_open": can(request.user, Action.VIEW_VOLUNTEERS, v),
        },
    )
