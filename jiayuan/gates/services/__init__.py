"""Writes of the gates app, one module per entity (as Zulip's ``actions/``): gate posts and their
settings (``gates``), the one-scan passage, the morning peak's hot path (``passages``), returnees
registered at the gate (``returnees``), passes (``passes``) and parcels (``parcels``). Callers
import this package: ``from jiayuan.gates import services``."""

from jiayuan.gates.services.gates import (
    MSG_TEMPERATURE,
    MSG_UNKNOWN_CODE,
    GateConflict,
    gate_create,
    gate_set_state,
    settings_for,
    settings_update,
)
from jiayuan.gates.services.parcels import (
    door_only,
    parcel_deliver,
    parcel_disinfect,
    parcel_pickup,
    parcel_register,
)
from jiayuan.gates.services.passages import (
    PassageOutcome,
    Who,
    clean_idempotency_key,
    parse_temperature,
    passage_record,
    resident_who,
    resolve_code,
)
from jiayuan.gates.services.passes import pass_issue, pass_revoke
from jiayuan.gates.services.returnees import returnee_at_gate

__all__ = [
    "MSG_TEMPERATURE",
    "MSG_UNKNOWN_CODE",
    "GateConflict",
    "PassageOutcome",
    "Who",
    "clean_idempotency_key",
    "door_only",
    "gate_create",
    "gate_set_state",
    "parcel_deliver",
    "parcel_disinfect",
    "parcel_pickup",
    "parcel_register",
    "parse_temperature",
    "pass_issue",
    "pass_revoke",
    "passage_record",
    "resident_who",
    "resolve_code",
    "returnee_at_gate",
    "settings_for",
    "settings_update",
]
