"""Demo slice of operations (``jiayuan demo``, order 60): disinfection points for every compound
(gate, garbage point, sorting area) and for the first buildings (lobby, lift), today's rounds
partly done (some overdue, the sealed building's above all), garbage collected in half the
buildings (the rest missed once the morning deadline has passed), a patrol from yesterday with
findings in every state (open, assigned and overdue, fixed awaiting the owners' committee's
check, checked) and one group-rental case inspected. Idempotent: a neighbourhood that already has
points is left alone. Everything goes through the services, as the pages would.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from jiayuan.accounts.models import User
from jiayuan.operations import selectors, services
from jiayuan.operations.choices import Assignee, CaseKind, CaseStatus, FindingKind, PointKind, TaskStatus
from jiayuan.operations.models import DisinfectionPoint, Finding, Task
from jiayuan.places.models import Building, Compound, Household


@transaction.atomic
def load(*, neighbourhood, stdout) -> None:
    if DisinfectionPoint.objects.filter(neighbourhood=neighbourhood).exists():
        stdout.write("operations: demo data already there")
        return
    users = {u.username: u for u in User.objects.filter(username__in=["head", "staff", "owners", "property"])}
    staff = users.get("staff") or users.get("head")
    owners = users.get("owners") or staff
    prop = users.get("property") or staff
    now = timezone.now()
    today = timezone.localdate()
    compounds = list(Compound.objects.filter(neighbourhood=neighbourhood).order_by("pk"))
    buildings = list(Building.objects.filter(neighbourhood=neighbourhood).order_by("compound_id", "sort_key"))
    if not compounds or not buildings:
        stdout.write("operations: no buildings for the demo")
        return
    for n, compound in enumerate(compounds):
        services.point_create(actor=staff, compound=compound, kind=PointKind.GATE, name=f"{compound.name}南门")
        services.point_create(
            actor=staff, compound=compound, kind=PointKind.GARBAGE_POINT, name=f"{compound.name}垃圾投放点"
        )
        if n == 0:
            services.point_create(actor=staff, compound=compound, kind=PointKind.SORTING_AREA, name="物资分拣区")
    for building in buildings[:6]:
        compound = next(c for c in compounds if c.pk == building.compound_id)
        services.point_create(
            actor=staff, compound=compound, building=building, kind=PointKind.LOBBY, name=f"{building.name}大堂"
        )
        services.point_create(
            actor=staff, compound=compound, building=building, kind=PointKind.LIFT, name=f"{building.name}电梯"
        )
    # Today's disinfection: every other point has its first round done (early morning); the rest
    # (and the sealed building's later rounds) stand overdue once their time has passed.
    settings = services.settings_for(neighbourhood.pk)
    first = timezone.make_aware(dt.datetime.combine(today, settings.day_start)) + dt.timedelta(minutes=40)
    points = list(DisinfectionPoint.objects.filter(neighbourhood=neighbourhood).order_by("pk"))
    for n, point in enumerate(points):
        if n % 2 == 0 and first <= now:
            services.disinfection_log(actor=prop, point=point, at=first, worker="物业保洁", agent="含氯消毒液 500mg/L")
    # Garbage: half the buildings collected today.
    for building in buildings[::2]:
        services.garbage_log(actor=prop, building=building, bags=12, worker="物业保洁")
    # Yesterday's patrol and its findings, one in each state.
    yesterday = now - dt.timedelta(days=1)
    run = services.patrol_start(
        actor=owners,
        neighbourhood=neighbourhood,
        route="全小区一圈(围墙、花园、垃圾点)",
        members="业委会巡查队 3 人",
        at=yesterday,
    )
    services.patrol_end(actor=owners, run=run, at=yesterday + dt.timedelta(hours=1))
    b3 = buildings[2] if len(buildings) > 2 else buildings[0]
    checked = services.finding_report(
        actor=owners,
        neighbourhood=neighbourhood,
        run=run,
        kind=FindingKind.GATHERING,
        place="中心花园",
        note="5 人聚集聊天, 已劝返",
    )
    services.task_set_status(actor=staff, task=checked, status=TaskStatus.ASSIGNED, assignee=Assignee.PROPERTY)
    services.task_set_status(actor=prop, task=checked, status=TaskStatus.FIXED, note="花园入口已拉警戒线")
    services.task_set_status(actor=owners, task=checked, status=TaskStatus.CHECKED, note="已看过")
    late = services.finding_report(
        actor=owners,
        neighbourhood=neighbourhood,
        run=run,
        kind=FindingKind.GARBAGE_OVERFLOW,
        place=f"{compounds[0].name}垃圾投放点",
        note="湿垃圾桶满溢, 周边有异味",
    )
    services.task_set_status(actor=staff, task=late, status=TaskStatus.ASSIGNED, assignee=Assignee.PROPERTY)
    Task.objects.filter(pk=late.pk).update(due_at=now - dt.timedelta(hours=3))
    fixed = services.finding_report(
        actor=owners,
        neighbourhood=neighbourhood,
        run=run,
        kind=FindingKind.DISINFECTION_MISSED,
        building=buildings[0],
        place=f"{buildings[0].name}电梯",
        note="电梯按钮消杀记录表昨天下午空白",
    )
    services.task_set_status(actor=staff, task=fixed, status=TaskStatus.ASSIGNED, assignee=Assignee.PROPERTY)
    services.task_set_status(actor=prop, task=fixed, status=TaskStatus.FIXED, note="已补做并张贴记录表")
    services.finding_report(
        actor=owners,
        neighbourhood=neighbourhood,
        kind=FindingKind.OVER_WALL,
        building=b3,
        place=f"{b3.name}东侧围墙",
        note="有人隔墙递送物品",
    )
    # The patrol's findings were made during yesterday's patrol.
    Finding.objects.filter(run=run).update(created_at=yesterday + dt.timedelta(minutes=20))
    Task.objects.filter(finding__run=run).update(created_at=yesterday + dt.timedelta(minutes=20))
    household = Household.objects.filter(building=b3).order_by("-floor", "room").first()
    if household is not None:
        case = services.case_report(
            actor=staff,
            household=household,
            kind=CaseKind.GROUP_RENTAL,
            reported_by="邻居来电",
            description="常有十多人进出",
        )
        services.case_advance(actor=staff, case=case, status=CaseStatus.INSPECTED, beds=8, occupants=10)
    overdue = sum(1 for r in selectors.disinfection_board(user=staff) if r["overdue"]) if staff else 0
    stdout.write(
        f"operations: {len(points)} disinfection points ({overdue} overdue), 4 patrol findings, 1 group-rental case"
    )
