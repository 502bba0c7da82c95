"""Demo slice of gates (``jiayuan demo``, order 50, after control's zones).

Each compound gets a south gate (open); the first compound's north gate is closed (seven
entrances merged into two) and the second compound's east gate lets vehicles only. Today's
passages at the first compound's south gate, scanned by the demo guard through the same service
as the scan page: residents going out and coming back (one from the sealed building refused, one
fever), visitors for a few households, a supplies van, a returnee registered at the gate; a few
households with shopping passes (one used up), and parcels in each state (one waiting since
yesterday). Idempotent: a neighbourhood that already has gates is left alone.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from jiayuan.accounts.models import User
from jiayuan.control.choices import ZoneLevel
from jiayuan.control.selectors import zone_levels
from jiayuan.gates import services
from jiayuan.gates.models import Gate, Parcel
from jiayuan.people.choices import Presence
from jiayuan.people.models import Resident
from jiayuan.places.models import Compound, Household
from jiayuan.screening.codes import sampling_code

VISITORS = [
    ("赵医生", "13912345678", "上门送药"),
    ("钱阿姨", "13698765432", "照料独居老人"),
    ("孙师傅", "13511112222", "维修水管"),
]


@transaction.atomic
def load(*, neighbourhood, stdout) -> None:
    if Gate.objects.filter(neighbourhood=neighbourhood).exists():
        stdout.write("gates: demo data already there")
        return
    compounds = list(Compound.objects.filter(neighbourhood=neighbourhood).order_by("pk"))
    if not compounds:
        stdout.write("gates: no compound for the demo")
        return
    guard = User.objects.filter(username="guard").first()
    head = User.objects.filter(username="head").first()
    gates = []
    for n, compound in enumerate(compounds):
        south = services.gate_create(actor=head, compound=compound, name="南门", note="主出入口, 测温扫码")
        north = services.gate_create(actor=head, compound=compound, name="北门" if n == 0 else "东门")
        if n == 0:
            services.gate_set_state(actor=head, gate=north, state="closed", note="出入口合并, 只留南门")
        else:
            services.gate_set_state(
                actor=head, gate=north, state="restricted", restriction="vehicles_only", note="保供车辆专用"
            )
        gates.append(south)
    gate = Gate.objects.select_related("neighbourhood").get(pk=gates[0].pk)
    residents = list(
        Resident.objects.filter(household__building__compound=compounds[0], presence=Presence.PRESENT)
        .select_related("household__building")
        .order_by("household__building__sort_key", "household_id", "id")
    )
    levels = zone_levels(building_ids={r.household.building_id for r in residents})
    free = [r for r in residents if levels.get(r.household.building_id) == ZoneLevel.PRECAUTION]
    sealed = [r for r in residents if levels.get(r.household.building_id) == ZoneLevel.SEALED]
    today = timezone.localdate()

    def scan(resident, direction, **kw):
        fresh = Gate.objects.select_related("neighbourhood__gate_settings").get(pk=gate.pk)
        return services.passage_record(
            actor=guard, gate=fresh, direction=direction, resident_code=sampling_code(resident.pk), **kw
        )

    for r in free[:24:2]:
        scan(r, "out", temperature="36.5")
    for r in free[:12:4]:
        scan(r, "in", temperature="36.6")
    if sealed:
        scan(sealed[0], "out")
    if len(free) > 30:
        scan(free[30], "in", temperature="37.8")
    households = list(Household.objects.filter(building__compound=compounds[0]).order_by("pk")[:40])
    fresh_gate = Gate.objects.select_related("neighbourhood__gate_settings").get(pk=gate.pk)
    for (name, phone, purpose), host in zip(VISITORS, households[5::7], strict=False):
        services.passage_record(
            actor=guard,
            gate=fresh_gate,
            direction="in",
            visitor={"name": name, "phone": phone, "purpose": purpose, "host_household": host.pk},
            temperature="36.4",
        )
    services.passage_record(
        actor=guard, gate=fresh_gate, direction="in", vehicle={"plate": "沪B·D2022", "purpose": "supplies"}
    )
    if len(free) > 32:
        services.returnee_at_gate(
            actor=guard,
            gate=fresh_gate,
            resident=free[32],
            origin="吉林长春",
            origin_risk="medium",
            transport="train",
            transport_detail="G1234",
            commitment_signed=True,
            temperature="36.5",
        )

    # Passes: a few households of precaution buildings; the first one already used this period.
    pass_households = []
    for r in free[40:60:5]:
        if r.household not in pass_households:
            pass_households.append(r.household)
    for n, household in enumerate(pass_households):
        p = services.pass_issue(
            actor=head,
            household=household,
            valid_from=today - dt.timedelta(days=1),
            valid_to=today + dt.timedelta(days=12),
            quota=1,
            period_days=2,
        )
        if n == 0:
            fresh = Gate.objects.select_related("neighbourhood__gate_settings").get(pk=gate.pk)
            services.passage_record(actor=guard, gate=fresh, direction="out", resident_code=p.code)

    # Parcels: arrived, disinfected (one of them since yesterday: overdue), delivered, picked up.
    parcel_households = households[1:40:4]
    carriers = ["顺丰", "京东", "美团外卖", "中通", "饿了么", "邮政", "圆通", "叮咚买菜", "盒马", "韵达"]
    for n, (household, carrier) in enumerate(zip(parcel_households, carriers, strict=False)):
        parcel = services.parcel_register(actor=guard, household=household, carrier=carrier)
        if n % 4 == 0:
            continue
        parcel = services.parcel_disinfect(actor=guard, parcel=parcel)
        if n == 1:
            Parcel.objects.filter(pk=parcel.pk).update(arrived_at=timezone.now() - dt.timedelta(hours=26))
        elif n % 4 == 2:
            services.parcel_deliver(actor=guard, parcel=parcel)
        elif n == 3 and services.door_only(household) is False:
            services.parcel_pickup(actor=guard, parcel=parcel, code=parcel.pickup_code)
    stdout.write(f"gates: {len(compounds) * 2} gates, today's passages, passes and parcels")
