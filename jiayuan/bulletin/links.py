"""Absolute addresses of a bulletin's and a notice's public pages (shared in WeChat groups)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from jiayuan.bulletin.models import Bulletin, Notice, PublicChannel

__all__ = ["absolute", "bulletin_urls", "notice_public_url"]


def absolute(request, path: str) -> str:
    if settings.JIAYUAN_PUBLIC_URL:
        return settings.JIAYUAN_PUBLIC_URL + path
    return request.build_absolute_uri(path) if request is not None else path


def _key(neighbourhood_id: int) -> str | None:
    return PublicChannel.objects.filter(neighbourhood_id=neighbourhood_id).values_list("key", flat=True).first()


def bulletin_urls(request, bulletin: Bulletin, key: str | None = None) -> dict[str, str | None]:
    """``public_url``, ``image_url``, ``print_url`` of a published bulletin (None for a draft)."""
    key = key or (bulletin.is_published and _key(bulletin.neighbourhood_id))
    if not bulletin.is_published or not key:
        return {"public_url": None, "image_url": None, "print_url": None}
    day = bulletin.date.isoformat()
    return {
        "public_url": absolute(request, reverse("bulletin:public_day", args=[key, day])),
        "image_url": absolute(request, reverse("bulletin:public_png", args=[key, day])),
        "print_url": absolute(request, reverse("bulletin:public_print", args=[key, day])),
    }


def notice_public_url(request, notice: Notice) -> str | None:
    key = _key(notice.neighbourhood_id)
    return absolute(request, reverse("bulletin:public_notice", args=[key, notice.pk])) if key else None
