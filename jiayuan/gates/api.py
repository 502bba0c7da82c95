"""门岗 API."""

from ninja import Router

router = Router(tags=["gates"])
