"""Supplies' rows of "今天要做的事" on the home page (``core.extensions.today_item``).

What each role does with supplies today, counted through the user's scope:

- gate guard and property staff: group buys due at the gate (closed, delivery day reached) to
  register and let in, and arrivals waiting for disinfection (``RECEIVE_GOODS``); parcels at the
  gate will come with the gates app, which has no model yet;
- property staff: group buys rested after disinfection and ready to sort (``DELIVER_GOODS``),
  and handout rounds of the last days with households still to collect (``MANAGE_HANDOUTS``);
- volunteers and building leaders: buildings of theirs with a ready group buy still to carry to
  the doors and sign off (``DELIVER_GOODS``, the delivery checklist);
- committee and owners' committee: group-buy leaders to vet (``REVIEW_LEADERS``) and bidding
  groups to choose from (``MANAGE_GROUP_BUYS``).

One or two queries per row, whatever the number of group buys, orders or households.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from jiayuan.core.extensions import TodayItem
from jiayuan.core.permissions import Action, Role
from jiayuan.core.scoping import can, restrict, roles
from jiayuan.people.choices import Presence
from jiayuan.people.models import Resident
from jiayuan.places.models import Household
from jiayuan.supplies import selectors
from jiayuan.supplies.choices import READY, GroupBuyStatus, HandoutUnit, LeaderStatus, OrderStatus
from jiayuan.supplies.models import BuildingDelivery, Order

S = GroupBuyStatus

# Handout rounds older than this are no longer "today's" work, even with households missing.
HANDOUT_DAYS = 7

GATE = {Role.GATE_GUARD, Role.PROPERTY_STAFF}
DELIVERERS = {Role.VOLUNTEER, Role.BUILDING_LEADER}
REVIEWERS = {Role.COMMITTEE_HEAD, Role.COMMITTEE_STAFF, Role.OWNERS_COMMITTEE}


def _index(status: str) -> str:
    return f"{reverse('supplies:index')}?status={status}"


def today(request) -> list[TodayItem]:
    user = request.user
    mine = roles(user)
    items: list[TodayItem] = []
    today_ = timezone.localdate()
    if mine & GATE and can(user, Action.RECEIVE_GOODS):
        gate = selectors.group_buy_list(user=user, action=Action.RECEIVE_GOODS)
        due = gate.filter(status=S.CLOSED, delivery_date__lte=today_).count()
        items.append(
            TodayItem(ngettext("个团购今日到货, 待登记放行", "个团购今日到货, 待登记放行", due), due, _index(S.CLOSED))
        )
        arrived = gate.filter(status=S.ARRIVED).count()
        items.append(TodayItem(ngettext("批到货待消杀", "批到货待消杀", arrived), arrived, _index(S.ARRIVED), "warn"))
    if Role.PROPERTY_STAFF in mine and can(user, Action.DELIVER_GOODS):
        ready = selectors.group_buy_list(user=user, status=READY, action=Action.DELIVER_GOODS).count()
        items.append(
            TodayItem(ngettext("个团购静置完成, 待分拣", "个团购静置完成, 待分拣", ready), ready, _index(READY))
        )
    if Role.PROPERTY_STAFF in mine and can(user, Action.MANAGE_HANDOUTS):
        items += _handouts(user, today_)
    if mine & DELIVERERS and can(user, Action.DELIVER_GOODS):
        pending = _deliveries_pending(user)
        items.append(
            TodayItem(ngettext("栋楼待送货上门", "栋楼待送货上门", pending), pending, reverse("supplies:checklist"))
        )
    if mine & REVIEWERS and can(user, Action.REVIEW_LEADERS):
        pending = selectors.leader_list(user=user, status=LeaderStatus.PENDING).count()
        items.append(
            TodayItem(
                ngettext("位团长申请待审核", "位团长申请待审核", pending),
                pending,
                f"{reverse('supplies:leaders')}?status={LeaderStatus.PENDING}",
            )
        )
    if mine & REVIEWERS and can(user, Action.MANAGE_GROUP_BUYS):
        groups = (
            selectors.group_buy_list(user=user, status=S.PROPOSED, action=Action.MANAGE_GROUP_BUYS)
            .order_by()
            .values("compound_id", "category", "delivery_date")
            .distinct()
            .count()
        )
        items.append(
            TodayItem(ngettext("组团购方案待比选", "组团购方案待比选", groups), groups, reverse("supplies:bidding"))
        )
    return items


def _deliveries_pending(user) -> int:
    """(group buy, building) pairs in the user's buildings: the group buy has rested and may go
    to the doors, the building has orders and nobody has signed its delivery off yet."""
    signed = BuildingDelivery.objects.filter(group_buy_id=OuterRef("group_buy_id"), building_id=OuterRef("building_id"))
    return (
        restrict(Order.objects.all(), user, Action.DELIVER_GOODS)
        .filter(
            status=OrderStatus.ACTIVE,
            group_buy__status__in=[S.DISINFECTED, S.SORTED],
            group_buy__ready_at__lte=timezone.now(),
        )
        .filter(~Exists(signed))
        .order_by()
        .values("group_buy_id", "building_id")
        .distinct()
        .count()
    )


def _handouts(user, today_: dt.date) -> list[TodayItem]:
    """Handout rounds of the last days in which households (or residents) have not collected
    yet: three queries, grouped by compound, however many rounds and households."""
    since = timezone.make_aware(dt.datetime.combine(today_ - dt.timedelta(days=HANDOUT_DAYS), dt.time()))
    rounds = list(selectors.handout_round_list(user=user).filter(created_at__gte=since)[:50])
    if not rounds:
        return []
    households = restrict(Household.objects.all(), user, Action.VIEW_SUPPLIES).filter(
        neighbourhood_id__in={r.neighbourhood_id for r in rounds}
    )
    by_compound = {
        (nb, c): n
        for nb, c, n in households.values_list("neighbourhood_id", "building__compound_id")
        .annotate(n=Count("id"))
        .order_by()
    }
    by_compound_people = {}
    if any(r.unit == HandoutUnit.PERSON for r in rounds):
        by_compound_people = {
            (nb, c): n
            for nb, c, n in Resident.objects.filter(household__in=households, presence=Presence.PRESENT)
            .values_list("neighbourhood_id", "household__building__compound_id")
            .annotate(n=Count("id"))
            .order_by()
        }
    open_rounds = []
    for r in rounds:
        counts = by_compound_people if r.unit == HandoutUnit.PERSON else by_compound
        expected = sum(n for (nb, c), n in counts.items() if nb == r.neighbourhood_id and r.compound_id in (None, c))
        if r.received < expected:
            open_rounds.append(r)
    n = len(open_rounds)
    url = reverse("supplies:handout", args=[open_rounds[0].pk]) if n == 1 else reverse("supplies:handouts")
    return [TodayItem(ngettext("轮物资发放进行中", "轮物资发放进行中", n), n, url)]
