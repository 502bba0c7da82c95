"""民呼我应 API."""

from ninja import Router

router = Router(tags=["care"])
