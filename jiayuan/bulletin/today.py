"""Rows of "今天要做的事" for the bulletin's editors: today's draft, composed, not yet published."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from jiayuan.bulletin.choices import BulletinStatus
from jiayuan.bulletin.models import Bulletin
from jiayuan.core.extensions import TodayItem
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can, restrict


def today(request) -> list[TodayItem]:
    """Today's drafts in the user's scope (one query): the scheduled composition made them, an
    editor reads and publishes them."""
    user = request.user
    if not can(user, Action.EDIT_BULLETIN):
        return []
    drafts = Bulletin.objects.filter(date=timezone.localdate(), status=BulletinStatus.DRAFT)
    due = restrict(drafts, user, Action.EDIT_BULLETIN).count()
    return [TodayItem(ngettext("份今日日报草稿待发布", "份今日日报草稿待发布", due), due, reverse("bulletin:index"))]
