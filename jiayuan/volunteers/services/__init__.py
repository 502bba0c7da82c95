"""Writes of the volunteers app, one module per entity (as Zulip's ``actions/``): the registry of
volunteers (``registry``), teams (``teams``), shifts (``shifts``) and volunteers on shifts, with the
health gate (``assignments``). Callers import this package: ``from jiayuan.volunteers import services``."""

from jiayuan.volunteers.services._shared import CHECKOUT_GRACE, MAX_SHIFT_HOURS, TRANSITIONS, ShiftRefused
from jiayuan.volunteers.services.assignments import (
    assignment_cancel,
    check_in,
    check_out,
    health_gate,
    hours_between,
    no_shows_mark,
    shift_assign,
    shift_claim,
)
from jiayuan.volunteers.services.registry import (
    volunteer_create,
    volunteer_link_user,
    volunteer_reveal_phone,
    volunteer_set_status,
    volunteer_update,
)
from jiayuan.volunteers.services.shifts import shift_cancel, shift_create, shift_update
from jiayuan.volunteers.services.teams import (
    leads,
    team_add_member,
    team_create,
    team_remove_member,
    team_set_leader,
    team_update,
)

__all__ = [
    "CHECKOUT_GRACE",
    "MAX_SHIFT_HOURS",
    "TRANSITIONS",
    "ShiftRefused",
    "assignment_cancel",
    "check_in",
    "check_out",
    "health_gate",
    "hours_between",
    "leads",
    "no_shows_mark",
    "shift_assign",
    "shift_cancel",
    "shift_claim",
    "shift_create",
    "shift_update",
    "team_add_member",
    "team_create",
    "team_remove_member",
    "team_set_leader",
    "team_update",
    "volunteer_create",
    "volunteer_link_user",
    "volunteer_reveal_phone",
    "volunteer_set_status",
    "volunteer_update",
]
