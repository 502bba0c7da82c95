"""API v1: ``/api/v1/``, OpenAPI at ``/api/v1/openapi.json``, docs at ``/api/v1/docs``."""

from ninja import NinjaAPI

from jiayuan.bulletin.api import router as bulletin_router
from jiayuan.care.api import router as care_router
from jiayuan.control.api import router as control_router
from jiayuan.core.api import API_AUTH, hot_urls, install_error_handlers
from jiayuan.gates.api import passage_scan
from jiayuan.gates.api import router as gates_router
from jiayuan.gates.api_staffing import router as gates_staffing_router
from jiayuan.operations.api import router as operations_router
from jiayuan.people.api import router as people_router
from jiayuan.places.api import router as places_router
from jiayuan.screening.api import router as screening_router
from jiayuan.supplies.api import router as supplies_router
from jiayuan.volunteers.api import router as volunteers_router

api = NinjaAPI(
    title="Jiayuan API",
    version="1",
    description=(
        "家园 — 社区防疫与生活保障 API。认证: `Authorization: Bearer <token>` (`jiayuan create-token USERNAME`)."
    ),
    auth=API_AUTH,
    urls_namespace="api-v1",
)
install_error_handlers(api)
# Django matches a path against the patterns one by one, and ninja makes one pattern per path:
# the routers of the morning-peak hot paths (the sample scan and antigen report, the gate scan,
# the group-buy order; issue #13) come first, so their requests are matched first.
api.add_router("/", screening_router)
api.add_router("/", gates_router)
api.add_router("/", supplies_router)
api.add_router("/", places_router)
api.add_router("/", people_router)
api.add_router("/", control_router)
api.add_router("/", volunteers_router)
api.add_router("/", operations_router)
api.add_router("/", gates_staffing_router)
api.add_router("/", care_router)
api.add_router("/", bulletin_router)


def urls():
    """The API's URL patterns: ninja's, with the gate scan's bearer-token POSTs served by its hot
    view first (``core.api.hot_urls``, ADR 0023)."""
    return hot_urls(api, {"gate-passages": passage_scan})
