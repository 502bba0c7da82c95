"""Screening's rows of "今天要做的事" on the home page (``core.extensions.today_item``).

- building leaders and committee staff: residents of theirs not yet sampled in today's PCR round
  (the round's missed list), and, on a day with an antigen round, households that have not
  reported every member's antigen result yet;
- committee head/staff: today's positive antigen reports to follow up;
- samplers: the rounds open for sampling.

One or two queries per row; rounds are today's (and yesterday's still open), a handful at most.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from jiayuan.core.extensions import TodayItem
from jiayuan.core.permissions import Action, Role
from jiayuan.core.scoping import can, roles
from jiayuan.people.choices import Presence
from jiayuan.screening import selectors
from jiayuan.screening.choices import RoundKind, RoundStatus
from jiayuan.screening.models import AntigenReport

COMMITTEE = {Role.COMMITTEE_HEAD, Role.COMMITTEE_STAFF}
CHASERS = {*COMMITTEE, Role.BUILDING_LEADER}
ROUNDS_SHOWN = 3


def today(request) -> list[TodayItem]:
    user = request.user
    mine = roles(user)
    items: list[TodayItem] = []
    today_ = timezone.localdate()
    if mine & CHASERS and can(user, Action.VIEW_SCREENING):
        rounds = list(
            selectors.round_list(user=user)
            .filter(status=RoundStatus.OPEN, date__gte=today_ - dt.timedelta(days=1), date__lte=today_)
            .order_by("date", "id")[:ROUNDS_SHOWN]
        )
        for round_ in rounds:
            if round_.kind == RoundKind.PCR:
                items.append(_missed(user, round_, today_))
            elif round_.date == today_:
                items.append(_antigen_missing(user, round_, today_))
    if mine & COMMITTEE and can(user, Action.VIEW_SCREENING):
        positive = selectors.antigen_positive_list(user=user, since=today_).count()
        items.append(
            TodayItem(
                ngettext("份今日抗原阳性报告待跟进", "份今日抗原阳性报告待跟进", positive),
                positive,
                reverse("screening:antigen"),
                "bad",
            )
        )
    if Role.SAMPLER in mine and can(user, Action.SAMPLE):
        open_ = (
            selectors.round_list(user=user, action=Action.SAMPLE)
            .filter(status=RoundStatus.OPEN, date__gte=today_ - dt.timedelta(days=1), date__lte=today_)
            .count()
        )
        items.append(
            TodayItem(ngettext("轮筛查正在采样", "轮筛查正在采样", open_), open_, reverse("screening:sampler_home"))
        )
    return items


def _missed(user, round_, today_: dt.date) -> TodayItem:
    n = selectors.missed_list(user=user, round_=round_).order_by().count()
    late = round_.date < today_ or timezone.localtime().time() > round_.end_time
    if round_.date == today_:
        label = ngettext("人本轮核酸尚未采样", "人本轮核酸尚未采样", n)
    else:  # yesterday's round, still open
        label = ngettext("人昨天一轮核酸尚未采样", "人昨天一轮核酸尚未采样", n)
    return TodayItem(label, n, reverse("screening:missed", args=[round_.pk]), "warn" if late else "normal")


def _antigen_missing(user, round_, today_: dt.date) -> TodayItem:
    """Households (of the round, in the user's scope) where a present member has no report today."""
    reported = AntigenReport.objects.filter(resident_id=OuterRef("pk"), date=today_)
    n = (
        selectors.round_residents(user=user, round_=round_)
        .filter(presence=Presence.PRESENT, household__isnull=False)
        .filter(~Exists(reported))
        .order_by()
        .values("household_id")
        .distinct()
        .count()
    )
    return TodayItem(ngettext("户今日抗原未报齐", "户今日抗原未报齐", n), n, reverse("screening:antigen"), "normal")
