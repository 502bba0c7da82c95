"""Event handlers, subscribed in ``ControlConfig.ready``: screening's positives and negatives
become cases and quarantines here."""

from __future__ import annotations

from django.db import transaction

from jiayuan.control.choices import (
    OPEN_CASE_STATUSES,
    TEMPORARY_REASONS,
    CaseSource,
    CaseStatus,
    CaseType,
    QuarantineKind,
    QuarantineReason,
    QuarantineStatus,
)
from jiayuan.control.models import (
    Case,
    Quarantine,
)
from jiayuan.control.services._shared import (
    _quarantine_end,
    _today,
)
from jiayuan.control.services.cases import case_record
from jiayuan.control.services.policies import policy_for
from jiayuan.control.services.quarantines import quarantine_start
from jiayuan.people.choices import Presence

# --- Event handlers (subscribed in ControlConfig.ready) ----------------------------------------

SCREENING_SOURCE = {"pcr": CaseSource.PCR_ROUND, "antigen": CaseSource.ANTIGEN}


def on_screening_positive(*, resident, detected_on, source="pcr", actor=None, ref="", **kwargs) -> Case:
    """``screening.positive``: an individual positive opens (or updates) the resident's case."""
    return case_record(
        actor=actor,
        resident=resident,
        detected_on=detected_on,
        source=SCREENING_SOURCE.get(source, CaseSource.PCR_ROUND),
        type=kwargs.get("type", CaseType.ASYMPTOMATIC),
        ref=str(ref or ""),
    )


@transaction.atomic
def temporary_home_control(*, actor, residents, reason: str, detected_on=None, ref: str = "") -> list[Quarantine]:
    """Keep ``residents`` home (居家) under the temporary control ``reason`` (one of
    ``TEMPORARY_REASONS``) until their PCR retest: no case is opened and no zone level changes.

    A resident with an open case is left alone (the case rules apply). When the neighbourhood's
    policy for ``reason`` keeps the whole household home, each other present member of the
    household gets the same control, marked ``via_household``; a member who later has a result of
    their own (a second report, their own pooled tube) holds it as their own from then on.
    Idempotent: a second event for the same people starts nothing new.
    """
    start_on = min(detected_on or _today(), _today())
    started: list[Quarantine] = []
    households: dict[int, list[int]] = {}
    for resident in residents:
        if Case.objects.filter(resident=resident, status__in=OPEN_CASE_STATUSES).exists():
            continue
        q = quarantine_start(
            actor=actor, reason=reason, resident=resident, start_on=start_on, kind=QuarantineKind.HOME, ref=str(ref)
        )
        if q.via_household:
            q.via_household = False
            q.save(update_fields=["via_household"])
        started.append(q)
        if resident.household_id and policy_for(resident.neighbourhood_id, reason).whole_household:
            households.setdefault(resident.household_id, []).append(resident.pk)
    if households:
        from jiayuan.people.models import Resident

        housemates = (
            Resident.objects.filter(household_id__in=list(households), presence=Presence.PRESENT)
            .exclude(pk__in=[pk for pks in households.values() for pk in pks])
            .exclude(control_cases__status__in=OPEN_CASE_STATUSES)
            .select_related("household")
            .order_by("household_id", "id")
        )
        for mate in housemates:
            started.append(
                quarantine_start(
                    actor=actor,
                    reason=reason,
                    resident=mate,
                    start_on=start_on,
                    kind=QuarantineKind.HOME,
                    ref=f"同住人{ref}"[:100],
                    via_household=True,
                )
            )
    return started


def on_pool_positive(*, residents, detected_on=None, actor=None, ref="", **kwargs) -> list[Quarantine]:
    """``screening.pool_positive``: everyone in a positive pooled tube stays home (居家) until
    their individual retest (``temporary_home_control``, reason 混管阳性待复核)."""
    return temporary_home_control(
        actor=actor, residents=residents, reason=QuarantineReason.POSITIVE_POOL, detected_on=detected_on, ref=str(ref)
    )


def on_antigen_positive(*, resident, detected_on=None, actor=None, ref="", **kwargs) -> list[Quarantine]:
    """``screening.antigen_positive``: a positive antigen self-report is not a case. The resident
    (and, per the policy, the household) stays home under 抗原阳性待核酸复核 until the PCR retest
    (``temporary_home_control``); the case opens on a positive retest or when staff confirm the
    report (``screening.positive``)."""
    return temporary_home_control(
        actor=actor,
        residents=[resident],
        reason=QuarantineReason.ANTIGEN_POSITIVE,
        detected_on=detected_on,
        ref=str(ref or ""),
    )


@transaction.atomic
def on_retest_negative(*, resident, actor=None, ref="", **kwargs) -> list[Quarantine]:
    """``screening.retest_negative``: the individual PCR retest is negative; the resident's own
    temporary home control (pooled tube or antigen) ends (released, audited). The housemates kept
    home for it go free too once nobody of the household still awaits a retest of their own or
    is a case waiting at home."""
    ended = []
    for q in Quarantine.objects.select_for_update().filter(
        resident=resident, reason__in=TEMPORARY_REASONS, status=QuarantineStatus.ACTIVE
    ):
        _quarantine_end(
            actor=actor, quarantine=q, status=QuarantineStatus.RELEASED, reason=f"单管复核阴性 {ref}".strip()
        )
        ended.append(q)
    if resident.household_id:
        household_id = resident.household_id
        waiting = (
            Quarantine.objects.filter(
                household_id=household_id,
                reason__in=TEMPORARY_REASONS,
                via_household=False,
                status=QuarantineStatus.ACTIVE,
            ).exists()
            or Case.objects.filter(household_id=household_id, status=CaseStatus.AT_HOME).exists()
        )
        if not waiting:
            for q in Quarantine.objects.select_for_update().filter(
                household_id=household_id,
                reason__in=TEMPORARY_REASONS,
                via_household=True,
                status=QuarantineStatus.ACTIVE,
            ):
                _quarantine_end(
                    actor=actor,
                    quarantine=q,
                    status=QuarantineStatus.RELEASED,
                    reason=f"同住人单管复核阴性 {ref}".strip(),
                )
                ended.append(q)
    return ended
