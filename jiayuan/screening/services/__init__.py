"""Writes of the screening flow, one module per entity (as Zulip's ``actions/``): rounds with their
stations and exemptions, the call-down plan, tubes, scans (one, or a batch), results and antigen
reports. Every rule about them lives here; pages, the API, the importer and the demo all come
through this package: ``from jiayuan.screening import services``.

Events published inside the service's transaction (ADR 0006): ``screening.positive``,
``screening.pool_positive``, ``screening.antigen_positive`` and ``screening.retest_negative``.
"""

from jiayuan.screening.services._shared import ScanRejected, error_body, idempotency_scope
from jiayuan.screening.services.antigen import (
    antigen_photo_open,
    antigen_photos_purge,
    antigen_report_confirm,
    antigen_report_fast,
    antigen_report_submit,
    check_photo,
)
from jiayuan.screening.services.batches import sample_scan_batch
from jiayuan.screening.services.plans import PlanResult, expected_by_building, plan_generate
from jiayuan.screening.services.results import (
    ResultOutcome,
    tube_result_one,
    tube_result_record,
    tube_results_record_many,
)
from jiayuan.screening.services.rounds import (
    exemption_add,
    exemption_remove,
    round_create,
    round_finish,
    station_create,
    station_delete,
)
from jiayuan.screening.services.scans import ScanOutcome, sample_scan, sample_scan_one, sample_scan_person
from jiayuan.screening.services.tubes import UNDO_SECONDS, UndoOutcome, sample_undo, tube_close, tube_open

__all__ = [
    "UNDO_SECONDS",
    "PlanResult",
    "ResultOutcome",
    "ScanOutcome",
    "ScanRejected",
    "UndoOutcome",
    "antigen_photo_open",
    "antigen_photos_purge",
    "antigen_report_confirm",
    "antigen_report_fast",
    "antigen_report_submit",
    "check_photo",
    "error_body",
    "exemption_add",
    "exemption_remove",
    "expected_by_building",
    "idempotency_scope",
    "plan_generate",
    "round_create",
    "round_finish",
    "sample_scan",
    "sample_scan_batch",
    "sample_scan_one",
    "sample_scan_person",
    "sample_undo",
    "station_create",
    "station_delete",
    "tube_close",
    "tube_open",
    "tube_result_one",
    "tube_result_record",
    "tube_results_record_many",
]
