"""Reads of the bulletin app, through the acting user's scope (public pages through the key)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from jiayuan.bulletin.choices import Audience, BulletinStatus
from jiayuan.bulletin.models import Bulletin, Notice, NoticeRead, PublicChannel
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import get_scoped_or_404, restrict
from jiayuan.places.models import Household

__all__ = [
    "bulletin_get",
    "bulletin_list",
    "channel_get",
    "household_notices",
    "notice_audience_households",
    "notice_get",
    "notice_list",
    "notice_unread_households",
    "public_bulletin",
    "public_bulletins",
    "recent_ack_notices",
]


def bulletin_list(
    *, user, neighbourhood_id: int | None = None, date: dt.date | None = None, action: str = Action.EDIT_BULLETIN
) -> QuerySet[Bulletin]:
    qs = restrict(Bulletin.objects.select_related("neighbourhood__bulletin_channel"), user, action)
    if neighbourhood_id:
        qs = qs.filter(neighbourhood_id=neighbourhood_id)
    if date:
        qs = qs.filter(date=date)
    return qs.order_by("-date", "neighbourhood_id")


def bulletin_get(*, user, bulletin_id: int, action: str = Action.EDIT_BULLETIN) -> Bulletin:
    return get_scoped_or_404(Bulletin.objects.select_related("neighbourhood"), user, action, pk=bulletin_id)


def channel_get(key: str) -> PublicChannel:
    """The public channel of a key, or 404 (an unknown key and a retired one look the same)."""
    channel = PublicChannel.objects.select_related("neighbourhood").filter(key=key).first()
    if channel is None:
        raise Http404
    return channel


def public_bulletins(channel: PublicChannel) -> QuerySet[Bulletin]:
    """The archive: the neighbourhood's published bulletins, newest first."""
    return Bulletin.objects.filter(neighbourhood_id=channel.neighbourhood_id, status=BulletinStatus.PUBLISHED).order_by(
        "-date"
    )


def public_bulletin(channel: PublicChannel, day: dt.date) -> Bulletin:
    bulletin = public_bulletins(channel).filter(date=day).first()
    if bulletin is None:
        raise Http404
    return bulletin


def notice_list(*, user, action: str = Action.MANAGE_NOTICES) -> QuerySet[Notice]:
    return restrict(Notice.objects.select_related("neighbourhood"), user, action).order_by("-created_at", "-id")


def recent_ack_notices(*, user, days: int = 14) -> QuerySet[Notice]:
    """Notices asking for acknowledgement of the last ``days`` days, in the user's roster scope."""
    since = timezone.now() - dt.timedelta(days=days)
    qs = Notice.objects.filter(requires_ack=True, created_at__gte=since)
    return restrict(qs, user, Action.VIEW_ROSTER).order_by("-created_at", "-id")


def notice_get(*, user, notice_id: int, action: str = Action.MANAGE_NOTICES) -> Notice:
    return get_scoped_or_404(Notice.objects.select_related("neighbourhood"), user, action, pk=notice_id)


def _for_household(household: Household) -> Q:
    return Q(neighbourhood_id=household.neighbourhood_id) & (
        Q(audience=Audience.NEIGHBOURHOOD)
        | Q(audience=Audience.COMPOUNDS, compounds=household.building.compound_id)
        | Q(audience=Audience.BUILDINGS, buildings=household.building_id)
    )


def household_notices(*, household: Household) -> QuerySet[Notice]:
    """The notices addressed to the household (its neighbourhood, compound or building), newest
    first, each with ``is_read`` (its receipt exists)."""
    read = NoticeRead.objects.filter(notice=OuterRef("pk"), household=household)
    ids = Notice.objects.filter(_for_household(household)).values("id")
    return Notice.objects.filter(id__in=ids).annotate(is_read=Exists(read)).order_by("-created_at", "-id")


def notice_audience_households(notice: Notice) -> QuerySet[Household]:
    """The households the notice is addressed to (rooms where somebody lives)."""
    qs = Household.objects.filter(neighbourhood_id=notice.neighbourhood_id)
    if notice.audience == Audience.COMPOUNDS:
        qs = qs.filter(building__compound__in=notice.compounds.all())
    elif notice.audience == Audience.BUILDINGS:
        qs = qs.filter(building__in=notice.buildings.all())
    # Through the reverse relation: the bulletin app does not import the people app.
    lived_in = Household.objects.filter(pk=OuterRef("pk"), residents__isnull=False)
    return qs.filter(Exists(lived_in))


def notice_unread_households(*, user, notice: Notice) -> QuerySet[Household]:
    """Households of the notice's audience in the user's scope that have not opened it yet, by
    building and room: the building leader's door-knocking list."""
    read = NoticeRead.objects.filter(notice=notice, household=OuterRef("pk"))
    qs = restrict(notice_audience_households(notice), user, Action.VIEW_ROSTER)
    return (
        qs.filter(~Exists(read))
        .select_related("building")
        .order_by("building__compound_id", "building__sort_key", "unit", "floor", "room", "id")
    )
