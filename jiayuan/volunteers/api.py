"""志愿者 API."""

from ninja import Router

router = Router(tags=["volunteers"])
