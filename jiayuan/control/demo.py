"""Control demo data: one sealed building (a case detected 2 days ago), one controlled building
(a case detected 10 days ago, now in a makeshift hospital), their close contacts in quarantine,
an outsider secondary contact, two returnees, and today's health checks partly done with one
fever. The Shanghai 2022 policy preset is applied and the committee's phone number set.

Idempotent: nothing is written when the neighbourhood already has a case recorded by the demo
(ref ``demo``); the daily zone recompute then only steps levels down as days pass.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from jiayuan.accounts.models import User
from jiayuan.control import services
from jiayuan.control.choices import (
    CaseSource,
    CaseStatus,
    CaseType,
    ContactKind,
    LabResult,
    QuarantineStatus,
    RiskLevel,
    Slot,
    Transport,
)
from jiayuan.control.models import Case, Quarantine
from jiayuan.people.models import Resident
from jiayuan.places.models import Building

REF = "demo"


def _family(building: Building, skip: set[int], size: int = 2) -> list[Resident]:
    """The residents of the first household of ``building`` with at least ``size`` people."""
    for household in building.households.order_by("floor", "unit", "room"):
        people = [r for r in household.residents.order_by("id") if r.pk not in skip]
        if len(people) >= size:
            return people
    return []


@transaction.atomic
def demo_load(*, neighbourhood, stdout) -> None:
    if Case.objects.filter(neighbourhood=neighbourhood, ref=REF).exists():
        stdout.write("control: demo data already present")
        return
    actor = User.objects.filter(username="staff").first()
    head = User.objects.filter(username="head").first() or actor
    today = timezone.localdate()
    services.policy_apply_preset(actor=head, neighbourhood=neighbourhood, preset="shanghai_2022")
    services.hotline_update(actor=head, neighbourhood=neighbourhood, hotline="021-65550100")
    buildings = list(
        Building.objects.filter(neighbourhood=neighbourhood).order_by("compound__name", "sort_key", "number")
    )
    if len(buildings) < 4:
        stdout.write("control: not enough buildings for the demo")
        return
    by_number = {}
    for b in buildings:
        by_number.setdefault(b.number, b)
    sealed_b = by_number.get("1", buildings[0])
    controlled_b = by_number.get("3", buildings[2])
    used: set[int] = set()

    # Sealed: an antigen positive two days ago, confirmed by PCR; the family are close contacts.
    family = _family(sealed_b, used, 3) or _family(sealed_b, used, 2)
    case1 = services.case_record(
        actor=actor,
        resident=family[0],
        detected_on=today - dt.timedelta(days=2),
        source=CaseSource.ANTIGEN,
        type=CaseType.ASYMPTOMATIC,
        ref=REF,
    )
    used.update(r.pk for r in family)
    contacts = [
        services.contact_add(
            actor=actor, case=case1, kind=ContactKind.CLOSE, resident=r, start_on=today - dt.timedelta(days=2)
        )
        for r in family[1:3]
    ]
    services.contact_add(
        actor=actor,
        case=case1,
        kind=ContactKind.SECONDARY,
        name="陈师傅(快递员)",
        phone="13700001234",
        start_on=today - dt.timedelta(days=1),
        place="区集中隔离点",
    )

    # Controlled: detected ten days ago, transferred to a makeshift hospital.
    family2 = _family(controlled_b, used, 2)
    case2 = services.case_record(
        actor=actor,
        resident=family2[0],
        detected_on=today - dt.timedelta(days=10),
        source=CaseSource.PCR_ROUND,
        type=CaseType.CONFIRMED,
        ref=REF,
    )
    services.case_transition(
        actor=actor,
        case=case2,
        to_status=CaseStatus.MAKESHIFT_HOSPITAL,
        on=today - dt.timedelta(days=9),
        note="转运至方舱医院",
    )
    used.update(r.pk for r in family2)
    c2 = services.contact_add(
        actor=actor, case=case2, kind=ContactKind.CLOSE, resident=family2[1], start_on=today - dt.timedelta(days=10)
    )
    q2 = c2.quarantines.get()
    for _n, day in q2.test_dates():
        if day < today:
            services.quarantine_test_record(actor=actor, quarantine=q2, on=day, result=LabResult.NEGATIVE)

    # Two returnees in other buildings: one from a medium-risk area (home quarantine, ends soon),
    # one low-risk (home health monitoring).
    others = [b for b in buildings if b.pk not in (sealed_b.pk, controlled_b.pk)]
    r1 = _family(others[0], used, 1)[0]
    used.add(r1.pk)
    services.returnee_register(
        actor=actor,
        resident=r1,
        origin="吉林省长春市",
        origin_risk=RiskLevel.MEDIUM,
        arrival_on=today - dt.timedelta(days=5),
        transport=Transport.TRAIN,
        transport_detail="G1234",
        commitment_signed=True,
    )
    r2 = _family(others[1], used, 1)[0]
    used.add(r2.pk)
    services.returnee_register(
        actor=actor,
        resident=r2,
        origin="浙江省杭州市",
        origin_risk=RiskLevel.LOW,
        arrival_on=today - dt.timedelta(days=1),
        transport=Transport.CAR,
        commitment_signed=False,
    )

    # Today's health checks: mornings done for most, one fever.
    active = list(
        Quarantine.objects.filter(neighbourhood=neighbourhood, status=QuarantineStatus.ACTIVE, start_on__lte=today)
        .exclude(resident=None)
        .order_by("id")
    )
    for i, q in enumerate(active):
        if i == len(active) - 1:
            continue  # one person has not reported yet
        temperature = "37.8" if i == 0 else "36.5"
        services.health_check_record(
            actor=None if i % 2 else actor,
            quarantine=q,
            on=today,
            slot=Slot.MORNING,
            temperature=temperature,
            symptoms=["cough"] if i == 0 else [],
            door_sensor="门磁正常" if q.kind == "home" else "",
            source="household" if i % 2 else "staff",
        )
    stdout.write(
        f"control: 2 cases ({sealed_b.compound.name} {sealed_b.name} sealed, "
        f"{controlled_b.compound.name} {controlled_b.name} controlled), {len(contacts) + 2} contacts, 2 returnees"
    )
