from __future__ import annotations

from django.conf import settings
from django.core.paginator import Page, Paginator


def paginate(request, queryset, per_page: int | None = None) -> Page:
    """The requested page of ``queryset``; a bad or out-of-range ``?page=`` gives the nearest page."""
    paginator = Paginator(queryset, per_page or settings.JIAYUAN_PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))
