"""Pages a household opens through its link (no account): its notices and the latest bulletin."""

from __future__ import annotations

from django.shortcuts import render

from jiayuan.accounts.household_views import page_token
from jiayuan.accounts.household_views import with_household_link as _with_link
from jiayuan.bulletin import links, selectors, services
from jiayuan.bulletin.models import PublicChannel


def _latest_bulletin_url(request, household) -> str | None:
    channel = PublicChannel.objects.filter(neighbourhood_id=household.neighbourhood_id).first()
    if channel is None:
        return None
    latest = selectors.public_bulletins(channel).first()
    return links.bulletin_urls(request, latest, channel.key)["public_url"] if latest else None


def panel(request, household, link):
    """The household page's card: unread notices first, the latest bulletin."""
    notices = list(selectors.household_notices(household=household)[:5])
    bulletin_url = _latest_bulletin_url(request, household)
    if not notices and not bulletin_url:
        return None
    unread = sum(1 for n in notices if n.requires_ack and not n.is_read)
    return (
        "bulletin/household/panel.html",
        {"token": page_token(request, link), "notices": notices, "unread": unread, "bulletin_url": bulletin_url},
    )


@_with_link
def notices(request, token, link, household):
    items = list(selectors.household_notices(household=household)[:100])
    return render(
        request,
        "bulletin/household/notices.html",
        {"token": token, "notices": items, "bulletin_url": _latest_bulletin_url(request, household)},
    )


@_with_link
def notice(request, token, link, household, notice_id: int):
    """Opening a notice is its read receipt (the building leader's unread list then drops the room)."""
    item = selectors.household_notices(household=household).filter(pk=notice_id).first()
    if item is None:
        return render(request, "places/household_link_invalid.html", status=404)
    if item.requires_ack and not item.is_read:
        services.notice_mark_read(notice=item, household=household)
    return render(request, "bulletin/household/notice.html", {"token": token, "notice": item})
