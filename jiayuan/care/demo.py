"""Demo slice of care for the demo neighbourhood (``jiayuan demo``, order 60).

Requests in every state (some overdue, one psychological-support request), medicine errands to
two hospitals (one already batched into a run for the volunteer), a dialysis schedule three times
a week, a 120 emergency with its outcome, a support group (head's team), visit plans for the
elderly living alone (some checked, some missed), and 30 suggestions that group into a handful of
common issues (one answered). Idempotent: a neighbourhood that already has requests is left
alone. Everything goes through the services, as the pages would.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jiayuan.accounts.models import User
from jiayuan.care import services
from jiayuan.care.choices import Category, GroupRole, Source, Status, Urgency, VisitFinding
from jiayuan.care.models import CareRequest, VisitPlan
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import restrict
from jiayuan.people.models import Resident
from jiayuan.places.models import Household

SUGGESTIONS = [
    "头发太长了想理发",
    "能不能请理发师来小区",
    "想理发",
    "剪头发",
    "头发长了谁能帮忙剪一下",
    "希望安排理发师上门理发",
    "蔬菜包太少了不够吃",
    "能不能多发点蔬菜",
    "想买新鲜蔬菜",
    "蔬菜包里的菜坏了",
    "团购的蔬菜什么时候到",
    "快递什么时候能进小区",
    "快递能不能送到楼下",
    "快递放在门口好几天了",
    "希望快递每天消杀后送来",
    "核酸检测排队太久了",
    "做核酸排队等了两个小时",
    "核酸检测能不能分楼栋排队",
    "核酸排队时间太长",
    "孩子上网课家里网络太差",
    "宽带断了孩子没法上网课",
    "网络太慢上网课卡",
    "垃圾没人收楼道里臭",
    "垃圾桶满了没人清运",
    "楼下垃圾好几天没清运了",
    "猫粮吃完了买不到",
    "宠物粮食买不到了",
    "想订牛奶",
    "牛奶买不到",
    "老人的降压药快吃完了",
]


def load(*, neighbourhood, stdout) -> None:
    if CareRequest.objects.filter(neighbourhood=neighbourhood).exists():
        stdout.write("care: demo data already there")
        return
    households = list(
        Household.objects.filter(neighbourhood=neighbourhood, residents__isnull=False)
        .select_related("building")
        .distinct()
        .order_by("building_id", "unit", "room")
    )
    if len(households) < 40:
        return
    with transaction.atomic():
        _load(neighbourhood, households, stdout)


def _load(neighbourhood, households, stdout) -> None:
    head = User.objects.filter(username="head").first() or "demo"
    staff = User.objects.filter(username="staff").first() or head
    leader = User.objects.filter(username="leader").first()
    volunteer = User.objects.filter(username="volunteer").first()
    now = timezone.now()

    # The support group: the head's staff member as the party member, the head as professional.
    if isinstance(staff, User):
        services.support_member_add(
            actor=head, neighbourhood_id=neighbourhood.pk, user=staff, role=GroupRole.PARTY_MEMBER
        )

    def raise_(h, category, urgency, text, *, ago_minutes=0, source=Source.PHONE, items=None):
        resident = h.residents.order_by("id").first()
        req, _c = services.request_create(
            actor=staff if source == Source.PHONE else f"household-link:demo-{h.pk}",
            household=h,
            resident=resident,
            category=category,
            urgency=urgency,
            description=text,
            source=source,
            items=items,
        )
        # Raised some time ago: its time limits and first step move back with it.
        shift = dt.timedelta(minutes=ago_minutes)
        CareRequest.objects.filter(pk=req.pk).update(
            created_at=F("created_at") - shift, due_at=F("due_at") - shift, done_due_at=F("done_due_at") - shift
        )
        req.events.update(at=F("at") - shift)
        req.refresh_from_db()
        return req

    def step(req, *statuses, by=None):
        for s in statuses:
            services.request_transition(actor=by or staff, request=req, status=s, note="")

    hs = iter(households)
    # New, one of them overdue (an emergency not accepted within 30 minutes).
    raise_(next(hs), Category.SHORTAGE, Urgency.TODAY, "家里米吃完了, 老人一个人在家", ago_minutes=20)
    raise_(next(hs), Category.ELDERLY_CARE, Urgency.EMERGENCY, "老人摔倒了起不来, 请派人看看", ago_minutes=50)
    raise_(next(hs), Category.REPAIR, Urgency.ROUTINE, "厨房水管漏水", source=Source.LINK, ago_minutes=90)
    # Accepted and in progress (one assigned to the demo leader, overdue).
    r = raise_(next(hs), Category.SHORTAGE, Urgency.TODAY, "婴儿奶粉快没有了", ago_minutes=60 * 14)
    step(r, Status.ACCEPTED)
    r = raise_(next(hs), Category.COMPLAINT, Urgency.ROUTINE, "楼上装修噪音太大", ago_minutes=60 * 5)
    step(r, Status.ACCEPTED, Status.IN_PROGRESS)
    if leader is not None:
        r = raise_(households[2], Category.ELDERLY_CARE, Urgency.TODAY, "帮独居老人取一下团购的菜", ago_minutes=60 * 20)
        try:
            services.request_assign(actor=head, request=r, user=leader)
            step(r, Status.ACCEPTED, by=leader)
        except ValidationError as exc:  # the demo leader may not cover this building
            stdout.write(f"care: demo assignment left out ({exc.messages[0]})")
    # Done (waiting for the household), confirmed, reopened.
    r = raise_(next(hs), Category.REPAIR, Urgency.TODAY, "楼道灯坏了", ago_minutes=60 * 8)
    step(r, Status.ACCEPTED, Status.DONE)
    r = raise_(next(hs), Category.OTHER, Urgency.ROUTINE, "想打印孩子的作业", ago_minutes=60 * 30)
    step(r, Status.ACCEPTED, Status.DONE)
    services.request_transition(actor="household-link:demo", request=r, status=Status.CONFIRMED, by_household=True)
    r = raise_(next(hs), Category.SHORTAGE, Urgency.TODAY, "送来的菜少了一袋", ago_minutes=60 * 26)
    step(r, Status.ACCEPTED, Status.DONE)
    services.request_transition(
        actor="household-link:demo", request=r, status=Status.REOPENED, note="还是少一袋土豆", by_household=True
    )
    r = raise_(next(hs), Category.OTHER, Urgency.ROUTINE, "重复登记", ago_minutes=60 * 3)
    step(r, Status.CANCELLED)
    # Psychological support: only the group and the head read it.
    raise_(
        next(hs),
        Category.PSYCHOLOGICAL,
        Urgency.TODAY,
        "封控太久, 晚上睡不着, 很焦虑, 想找人聊聊",
        source=Source.LINK,
        ago_minutes=40,
    )
    # Medicine errands: three to one hospital, two to another, from the demo volunteer's buildings
    # where there is one; one hospital batched into a run for the volunteer.
    theirs = set()
    if volunteer is not None:
        theirs = set(
            restrict(
                Household.objects.filter(neighbourhood=neighbourhood), volunteer, Action.HANDLE_REQUESTS
            ).values_list("pk", flat=True)
        )
    errand_households = iter([h for h in households if h.pk in theirs][:5] or households[30:35])
    for hospital, medicines in (
        ("复旦大学附属中山医院", [("苯磺酸氨氯地平片", "2盒"), ("二甲双胍缓释片", "3盒"), ("阿托伐他汀钙片", "1盒")]),
        ("宝山区中西医结合医院", [("速效救心丸", "1瓶"), ("硝苯地平控释片", "2盒")]),
    ):
        for name, qty in medicines:
            raise_(
                next(errand_households, None) or next(hs),
                Category.MEDICINE,
                Urgency.TODAY,
                "",
                source=Source.LINK,
                ago_minutes=120,
                items=[{"name": name, "quantity": qty, "hospital": hospital, "handed_over": "insurance_card"}],
            )
    if volunteer is not None:
        batches = services.errand_batches(
            CareRequest.objects.filter(neighbourhood=neighbourhood, category=Category.MEDICINE).prefetch_related(
                "errand_items"
            )
        )
        for hospital, reqs in batches.items():
            try:
                services.errand_run_create(
                    actor=head, neighbourhood_id=neighbourhood.pk, hospital=hospital, volunteer=volunteer, requests=reqs
                )
            except ValidationError:  # the volunteer covers other buildings: leave it unbatched
                continue
            break
    # Medical trips: a dialysis schedule three times a week and a 120 emergency with its outcome.
    dialysis = (
        Resident.objects.filter(neighbourhood=neighbourhood, tag_rows__tag="dialysis", household__isnull=False).first()
        or households[0].residents.first()
    )
    services.schedule_create(
        actor=head,
        resident=dialysis,
        kind="dialysis",
        hospital="上海市第十人民医院血透中心",
        weekdays=[1, 3, 5],
        time=dt.time(7, 30),
        transport="社区保障车",
        escort=volunteer,
        pass_note="就医通行证(居委会开具)",  # noqa: S106 - a travel pass, not a password
    )
    call = services.emergency_log(actor=staff, resident=households[5].residents.first(), reason="胸闷气短", hospital="")
    services.emergency_outcome(actor=staff, call=call, outcome="hospitalised", hospital="上海市第十人民医院")
    # Visits: plans for the elderly living alone; some checked today, one finding a need.
    services.visit_plans_sync(actor=head, neighbourhood_id=neighbourhood.pk)
    plans = list(VisitPlan.objects.filter(neighbourhood=neighbourhood).select_related("resident__household")[:12])
    for i, plan in enumerate(plans):
        if leader is not None and i % 2 == 0:
            services.visit_plan_update(actor=head, plan=plan, visitor=None, every_days=plan.every_days, mode=plan.mode)
        VisitPlan.objects.filter(pk=plan.pk).update(created_at=now - dt.timedelta(days=3))
        plan.refresh_from_db()
        if i < 6:
            finding = VisitFinding.MEDICINE if i == 0 else VisitFinding.OK
            services.visit_record(actor=staff, plan=plan, finding=finding, note="降压药只剩两天" if i == 0 else "")
    # Suggestions: 30 from different households, grouped as they arrive; one group answered.
    for i, text in enumerate(SUGGESTIONS):
        services.suggestion_submit(
            actor="household-link:demo", household=households[(i * 7) % len(households)], text=text
        )
    from jiayuan.care.models import SuggestionGroup

    haircut = SuggestionGroup.objects.filter(neighbourhood=neighbourhood, suggestions__text="想理发").first()
    if haircut is not None:
        services.group_merge(actor=head, group=haircut, others=[], title="请理发师进小区")
        services.group_reply(
            actor=head, group=haircut, text="已联系理发师, 本周六上午在2号楼下为居民理发, 请戴好口罩、间隔一米排队。"
        )
    stdout.write(
        f"care: {CareRequest.objects.filter(neighbourhood=neighbourhood).count()} requests, "
        f"{SuggestionGroup.objects.filter(neighbourhood=neighbourhood).count()} suggestion groups"
    )
