"""Every write of the control app, one module per entity (as Zulip's ``actions/``): cases,
policies, contacts and quarantines, health checks, returnees, zone settings and overrides, and the
handlers of screening's events. Keyword-only, inside ``transaction.atomic``, audited; errors are
``ValidationError`` with Chinese, field-level messages. Callers import this package:
``from jiayuan.control import services``."""

from jiayuan.control.services._shared import FEVER, TEMP_MAX, TEMP_MIN
from jiayuan.control.services.cases import case_record, case_transition, case_void
from jiayuan.control.services.events import (
    on_antigen_positive,
    on_pool_positive,
    on_retest_negative,
    on_screening_positive,
    temporary_home_control,
)
from jiayuan.control.services.health_checks import health_check_record
from jiayuan.control.services.policies import (
    hotline_update,
    policy_apply_preset,
    policy_for,
    policy_update,
    zone_settings_update,
)
from jiayuan.control.services.quarantines import (
    contact_add,
    quarantine_release,
    quarantine_release_problems,
    quarantine_start,
    quarantine_test_record,
    quarantine_transfer,
)
from jiayuan.control.services.returnees import returnee_register
from jiayuan.control.services.zones import zone_override_end, zone_override_set

__all__ = [
    "FEVER",
    "TEMP_MAX",
    "TEMP_MIN",
    "case_record",
    "case_transition",
    "case_void",
    "contact_add",
    "health_check_record",
    "hotline_update",
    "on_antigen_positive",
    "on_pool_positive",
    "on_retest_negative",
    "on_screening_positive",
    "policy_apply_preset",
    "policy_for",
    "policy_update",
    "quarantine_release",
    "quarantine_release_problems",
    "quarantine_start",
    "quarantine_test_record",
    "quarantine_transfer",
    "returnee_register",
    "temporary_home_control",
    "zone_override_end",
    "zone_override_set",
    "zone_settings_update",
]
