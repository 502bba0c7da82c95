"""Demo slice of supplies for the demo neighbourhood (``jiayuan demo``, order 30).

Two approved group-buy leaders (one with a permit expiring in five days), a vegetable bidding
pair for the day after tomorrow with residents' votes, an eggs-and-milk group buy open for orders
with about 100 households' orders (proxy orders by the building leader among them), a rice-and-
oil group buy that has arrived, been disinfected and rested (ready for sorting, with orders in the
demo volunteer's buildings too), a pork group buy due today with ordering closed (the gate guard
lets it in), a government package round half handed out, donated masks and sanitiser in stock
(sanitiser low), and a mask appointment window with bookings. Idempotent: a neighbourhood that
already has leaders is left alone. Everything goes through the services, as the pages would.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from jiayuan.accounts.models import User
from jiayuan.control.selectors import household_may_go_out
from jiayuan.people.choices import Tag
from jiayuan.people.models import Resident
from jiayuan.places.models import Compound, Household
from jiayuan.supplies import services
from jiayuan.supplies.choices import Category, DocumentKind
from jiayuan.supplies.models import GroupBuyLeader

# A tiny valid PNG (1×1) standing in for the scanned documents.
_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a0d4b1f90000000049454e44ae426082"
)


def _docs(today: dt.date, permit_days: int, licence_days: int) -> list[dict]:
    return [
        {
            "kind": DocumentKind.PERMIT,
            "number": f"BG-2022-{permit_days:04d}",
            "expires_on": today + dt.timedelta(days=permit_days),
            "filename": "保供证明.png",
            "data": _PNG,
        },
        {
            "kind": DocumentKind.LICENCE,
            "number": f"JY3101130{licence_days:05d}",
            "expires_on": today + dt.timedelta(days=licence_days),
            "filename": "食品经营许可证.png",
            "data": _PNG,
        },
    ]


def load(*, neighbourhood, stdout) -> None:
    if GroupBuyLeader.objects.filter(neighbourhood=neighbourhood).exists():
        stdout.write("supplies: demo data already there")
        return
    compound = Compound.objects.filter(neighbourhood=neighbourhood).order_by("pk").first()
    if compound is None:
        return
    with transaction.atomic():
        _load(neighbourhood, compound, stdout)


def _load(neighbourhood, compound, stdout) -> None:
    rng = random.Random(2022)  # noqa: S311 - reproducible demo data
    today = timezone.localdate()
    now = timezone.now()
    head = User.objects.filter(username="head").first() or "demo"
    leader_user = User.objects.filter(username="leader").first()
    households = list(
        Household.objects.filter(building__compound=compound, residents__isnull=False)
        .select_related("building")
        .distinct()
        .order_by("building__sort_key", "unit", "room")
    )
    if len(households) < 20:
        return
    settings = services.settings_for(neighbourhood.pk)
    settings.rest_minutes, settings.daily_limit_per_category = 30, 1
    settings.save()

    def person(h):
        return h.residents.order_by("id").first().name

    # Leaders: one with documents good for months, one whose permit runs out in five days.
    h_a, h_b = households[7], households[len(households) // 2]
    leader_a = services.leader_apply(
        actor=head,
        household=h_a,
        name=person(h_a),
        phone="13916002201",
        channel="江桥批发市场·崇明合作社",
        documents=_docs(today, 180, 365),
    )
    leader_b = services.leader_apply(
        actor=head,
        household=h_b,
        name=person(h_b),
        phone="13816002202",
        channel="西郊国际农产品交易中心",
        documents=_docs(today, 5, 200),
    )
    for leader in (leader_a, leader_b):
        services.leader_review(actor=head, leader=leader, approve=True, reason="证件齐全, 同意")

    # A vegetable bidding pair for the day after tomorrow; residents are voting.
    day2 = today + dt.timedelta(days=2)
    veg_a = services.group_buy_propose(
        actor=head,
        leader=leader_a,
        title="崇明蔬菜包",
        category=Category.VEGETABLES,
        supplier="崇明合作社",
        brand="崇明",
        delivery_date=day2,
        min_households=50,
        items=[{"name": "蔬菜包(8种约10斤)", "unit": "份", "unit_price": "68", "per_household_limit": 2}],
    )
    veg_b = services.group_buy_propose(
        actor=head,
        leader=leader_b,
        title="西郊蔬菜包",
        category=Category.VEGETABLES,
        supplier="西郊国际",
        brand="光明农场",
        delivery_date=day2,
        min_households=80,
        items=[{"name": "蔬菜包(6种约8斤)", "unit": "份", "unit_price": "58", "per_household_limit": 2}],
    )
    for n, h in enumerate(households[20:60]):
        services.vote_cast(actor="demo", household=h, group_buy=veg_a if n % 3 else veg_b)

    # Eggs and milk tomorrow: chosen by vote, open, about 100 households ordering.
    day1 = today + dt.timedelta(days=1)
    eggs = services.group_buy_propose(
        actor=head,
        leader=leader_a,
        title="鸡蛋牛奶团",
        category=Category.EGGS_MILK,
        supplier="光明乳业直供",
        brand="光明",
        delivery_date=day1,
        items=[
            {"name": "鲜鸡蛋 30枚", "unit": "盒", "unit_price": "36", "per_household_limit": 2, "total_quantity": 200},
            {"name": "鲜牛奶 950ml", "unit": "瓶", "unit_price": "15.5", "per_household_limit": 4},
        ],
    )
    services.vote_cast(actor="demo", household=households[0], group_buy=eggs)
    services.bidding_close_vote(actor=head, group_buy=eggs)
    services.group_buy_open(actor=head, group_buy=eggs)
    egg_item, milk_item = list(eggs.items.order_by("id"))
    elders = []
    if leader_user is not None:
        seen: set[int] = set()
        for resident in (
            Resident.objects.filter(
                household__building__compound=compound,
                tag_rows__tag=Tag.NO_SMARTPHONE,
                household__building__number__in=["1", "2"],
            )
            .select_related("household__building")
            .order_by("id")
        ):
            if resident.household_id not in seen and len(elders) < 8:
                seen.add(resident.household_id)
                elders.append(resident)
    elder_households = {r.household_id for r in elders}
    ordering = [h for h in households if h.pk not in elder_households][:100]
    for n, h in enumerate(ordering):
        order, _created = services.order_place(
            actor="demo",
            group_buy=eggs,
            household=h,
            quantities={egg_item.pk: 1 + n % 2, milk_item.pk: rng.choice([0, 1, 2, 2, 4])},
            delivery_mode="pickup" if n % 7 == 0 and household_may_go_out(h)[0] else "door",
        )
        if rng.random() < 0.6:
            services.order_set_paid(actor=head, order=order, paid=True)
    for resident in elders:
        services.order_place_by_staff(
            actor=leader_user,
            group_buy=eggs,
            household=resident.household,
            resident=resident,
            quantities={egg_item.pk: 1, milk_item.pk: 2},
        )

    # Rice and oil today: arrived at the gate, disinfected 90 minutes ago, ready for sorting.
    rice = services.group_buy_propose(
        actor=head,
        leader=leader_b,
        title="米面粮油包",
        category=Category.RICE_OIL,
        supplier="西郊国际",
        brand="福临门",
        delivery_date=today,
        items=[
            {"name": "东北大米 5kg", "unit": "袋", "unit_price": "45", "per_household_limit": 1, "total_quantity": 60},
            {"name": "菜籽油 5L", "unit": "桶", "unit_price": "79", "per_household_limit": 1, "total_quantity": 40},
        ],
    )
    services.vote_cast(actor="demo", household=households[1], group_buy=rice)
    services.bidding_close_vote(actor=head, group_buy=rice)
    services.group_buy_open(actor=head, group_buy=rice)
    rice_item, oil_item = list(rice.items.order_by("id"))
    # Most orders from the first buildings, some from buildings 3 and 4 (the demo volunteer's).
    rice_households = households[:30] + [h for h in households if h.building.number in ("3", "4")][:15]
    for n, h in enumerate(rice_households):
        services.order_place(
            actor="demo",
            group_buy=rice,
            household=h,
            quantities={rice_item.pk: 1, **({oil_item.pk: 1} if n % 3 == 0 else {})},
        )
    services.group_buy_close(actor=head, group_buy=rice)
    services.group_buy_arrive(
        actor=head,
        group_buy=rice,
        vehicle_plate="沪D·3F728",
        driver_name="孙师傅",
        driver_phone="13700002345",
        arrival_note="大米 45 袋, 菜籽油 15 桶",
        arrived_at=now - dt.timedelta(hours=2),
    )
    services.group_buy_disinfect(
        actor=head, group_buy=rice, disinfected_at=now - dt.timedelta(minutes=90), confirm_backdated=True
    )

    # Pork today: ordering closed, the truck not at the gate yet (the gate guard's to let in).
    pork = services.group_buy_propose(
        actor=head,
        leader=leader_a,
        title="冷鲜猪肉套餐",
        category=Category.MEAT,
        supplier="江桥批发市场",
        brand="爱森",
        delivery_date=today,
        items=[{"name": "猪肉套餐(约3斤)", "unit": "份", "unit_price": "88", "per_household_limit": 1}],
    )
    services.vote_cast(actor="demo", household=households[2], group_buy=pork)
    services.bidding_close_vote(actor=head, group_buy=pork)
    services.group_buy_open(actor=head, group_buy=pork)
    pork_item = pork.items.get()
    for h in households[60:90]:
        services.order_place(actor="demo", group_buy=pork, household=h, quantities={pork_item.pk: 1})
    services.group_buy_close(actor=head, group_buy=pork)

    # A government package round, half handed out.
    handout = services.handout_round_create(
        actor=head,
        neighbourhood=neighbourhood,
        title="第一批政府保供包",
        package="大米、面条、食用油、猪肉、鸡蛋",
        compound=compound,
    )
    for h in households[: len(households) // 2]:
        services.handout_mark_received(actor=head, round=handout, household=h)

    # Donations into stock; sanitiser runs low.
    services.donation_record(
        actor=head,
        neighbourhood=neighbourhood,
        donor="爱心企业(某医疗器械公司)",
        lines=[
            {"name": "医用外科口罩", "unit": "只", "quantity": 5000},
            {"name": "免洗消毒液", "unit": "瓶", "quantity": 200},
        ],
    )
    from jiayuan.supplies.models import StockItem

    masks = StockItem.objects.get(neighbourhood=neighbourhood, name="医用外科口罩")
    sanitiser = StockItem.objects.get(neighbourhood=neighbourhood, name="免洗消毒液")
    services.stock_set_threshold(actor=head, stock_item=masks, low_threshold=500)
    services.stock_set_threshold(actor=head, stock_item=sanitiser, low_threshold=50)
    services.stock_issue(actor=head, stock_item=masks, quantity=600, recipient="志愿者服务队")
    services.stock_issue(actor=head, stock_item=sanitiser, quantity=160, recipient="各楼组长")

    # Masks by appointment (2020): a window tomorrow morning with vouchers.
    campaign = services.campaign_create(
        actor=head,
        neighbourhood=neighbourhood,
        title="口罩预约(第三批)",
        item_name="医用外科口罩",
        quota_per_household=5,
    )
    start = timezone.make_aware(dt.datetime.combine(day1, dt.time(9, 0)))
    window = services.window_create(
        actor=head,
        campaign=campaign,
        place="居委会活动室",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
        capacity=100,
    )
    for n, h in enumerate(households[100:120]):
        services.booking_create(
            actor=head if n % 5 == 0 else "demo",
            window=window,
            household=h,
            quantity=5,
            mode="pickup" if n % 5 and household_may_go_out(h)[0] else "proxy",
        )
    stdout.write(
        "supplies: 2 leaders, 5 group buys (bidding, open, due at the gate, ready), a handout round, stock, "
        "appointments"
    )
