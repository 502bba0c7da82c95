"""Volunteers' rows of "今天要做的事" (``core.extensions.today_item``), a few queries each:

- a volunteer with a linked login: their shifts today still to work (check in / out);
- staff who schedule (MANAGE_SHIFTS): shifts of today and tomorrow short of people;
- staff who review (MANAGE_VOLUNTEERS): applications from households waiting for review.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from jiayuan.core.extensions import TodayItem
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can, restrict
from jiayuan.volunteers.choices import AssignmentStatus, VolunteerStatus
from jiayuan.volunteers.models import HOLDING, Shift, ShiftAssignment, Volunteer


def today(request) -> list[TodayItem]:
    user = request.user
    items: list[TodayItem] = []
    now = timezone.now()
    day = timezone.localdate()
    mine = (
        ShiftAssignment.objects.filter(
            volunteer__user=user,
            status__in=(AssignmentStatus.ASSIGNED, AssignmentStatus.CHECKED_IN),
            shift__cancelled=False,
            shift__ends_at__gt=now,
            shift__date__lte=day,
        ).count()
        if user.is_authenticated
        else 0
    )
    if mine:
        items.append(
            TodayItem(ngettext("个班次今天要上岗", "个班次今天要上岗", mine), mine, reverse("volunteers:index"))
        )
    if can(user, Action.MANAGE_SHIFTS) and can(user, Action.VIEW_VOLUNTEERS):
        short = (
            restrict(
                Shift.objects.filter(
                    cancelled=False, date__gte=day, date__lte=day + dt.timedelta(days=1), ends_at__gt=now
                ),
                user,
                Action.MANAGE_SHIFTS,
            )
            .annotate(taken=Count("assignments", filter=Q(assignments__status__in=HOLDING)))
            .filter(taken__lt=F("needed"))
            .count()
        )
        items.append(
            TodayItem(
                ngettext("个班次今明两天缺人", "个班次今明两天缺人", short),
                short,
                reverse("volunteers:shifts") + "?short=1",
                "warn",
            )
        )
    if can(user, Action.MANAGE_VOLUNTEERS):
        applied = restrict(
            Volunteer.objects.filter(status=VolunteerStatus.APPLIED), user, Action.MANAGE_VOLUNTEERS
        ).count()
        items.append(
            TodayItem(
                ngettext("位志愿者报名待审核", "位志愿者报名待审核", applied),
                applied,
                reverse("volunteers:roster") + "?status=applied",
            )
        )
    return items
