"""What the volunteers services share."""

from __future__ import annotations

import datetime as dt

from jiayuan.volunteers.choices import AssignmentStatus, VolunteerStatus

V = VolunteerStatus
AS = AssignmentStatus

MAX_SHIFT_HOURS = 24
# A check-out this long after the shift's end is a forgotten one: hours stop at the shift's end.
CHECKOUT_GRACE = dt.timedelta(hours=2)

# Status changes staff may make, from → allowed targets.
TRANSITIONS: dict[str, frozenset[str]] = {
    V.APPLIED: frozenset({V.APPROVED, V.ACTIVE, V.LEFT}),
    V.APPROVED: frozenset({V.ACTIVE, V.PAUSED, V.LEFT}),
    V.ACTIVE: frozenset({V.PAUSED, V.LEFT}),
    V.PAUSED: frozenset({V.ACTIVE, V.LEFT}),
    V.LEFT: frozenset({V.ACTIVE}),
}


class ShiftRefused(Exception):
    """A refusal with a stable ``code`` (API 409) and a Chinese ``message``."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
