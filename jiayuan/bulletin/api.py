"""日报与通知 API."""

from ninja import Router

router = Router(tags=["bulletin"])
