"""Rows of "今天要做的事" for the bulletin's editors: today's bulletin not yet published."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from jiayuan.bulletin.choices import BulletinStatus
from jiayuan.bulletin.models import Bulletin
from jiayuan.core.extensions import TodayItem
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can, restrict
from jiayuan.places.models import Neighbourhood


def today(request) -> list[TodayItem]:
    """How many of the user's neighbourhoods have no published bulletin for today (one query)."""
    user = request.user
    if not can(user, Action.EDIT_BULLETIN):
        return []
    published = Bulletin.objects.filter(date=timezone.localdate(), status=BulletinStatus.PUBLISHED).values(
        "neighbourhood_id"
    )
    due = restrict(Neighbourhood.objects.all(), user, Action.EDIT_BULLETIN).exclude(id__in=published).count()
    return [TodayItem(ngettext("份今日日报待发布", "份今日日报待发布", due), due, reverse("bulletin:index"))]
