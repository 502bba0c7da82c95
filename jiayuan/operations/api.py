"""日常运行 API."""

from ninja import Router

router = Router(tags=["operations"])
