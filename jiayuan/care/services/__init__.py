"""Care rules, one module per entity (as Zulip's ``actions/``): priority, time limits, the request
lifecycle and assignment, the psychological support group, medicine errands and their runs, medical
trips, visits, suggestions and their replies. Callers import this package:
``from jiayuan.care import services``.

Every state change is audited (``audit_record``) in the same transaction.
"""

from jiayuan.care.choices import TRANSITIONS, VISIT_TAGS, Source
from jiayuan.care.services._shared import clean_key, settings_for, settings_update
from jiayuan.care.services.errands import errand_batches, errand_cost, errand_run_create, run_done
from jiayuan.care.services.requests import (
    HOUSEHOLD_STEPS,
    TransitionError,
    deadlines,
    errand_item_add,
    priority_for,
    request_assign,
    request_create,
    request_transition,
)
from jiayuan.care.services.suggestions import group_merge, group_reply, suggestion_submit
from jiayuan.care.services.support import (
    is_committee_head_of,
    may_handle,
    may_read_content,
    support_member_add,
    support_member_remove,
    support_members,
)
from jiayuan.care.services.trips import emergency_log, emergency_outcome, schedule_create, trips_on
from jiayuan.care.services.visits import visit_missed, visit_plan_update, visit_plans_sync, visit_record

__all__ = [
    "HOUSEHOLD_STEPS",
    "TRANSITIONS",
    "VISIT_TAGS",
    "Source",
    "TransitionError",
    "clean_key",
    "deadlines",
    "emergency_log",
    "emergency_outcome",
    "errand_batches",
    "errand_cost",
    "errand_item_add",
    "errand_run_create",
    "group_merge",
    "group_reply",
    "is_committee_head_of",
    "may_handle",
    "may_read_content",
    "priority_for",
    "request_assign",
    "request_create",
    "request_transition",
    "run_done",
    "schedule_create",
    "settings_for",
    "settings_update",
    "suggestion_submit",
    "support_member_add",
    "support_member_remove",
    "support_members",
    "trips_on",
    "visit_missed",
    "visit_plan_update",
    "visit_plans_sync",
    "visit_record",
]
