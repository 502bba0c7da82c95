from django.contrib import admin
from django.urls import include, path

from jiayuan import api
from jiayuan.core import bench
from jiayuan.places.views import household_home

urlpatterns = [
    # The API first: Django tries the patterns in order, and the scanners' requests at a morning
    # peak should not be matched against every page's prefix before their own (ADR 0023).
    path("api/v1/", api.urls()),
    path("", include("jiayuan.core.urls")),
    path("accounts/", include("jiayuan.accounts.urls")),
    path("team/", include("jiayuan.accounts.team_urls")),
    path("places/", include("jiayuan.places.urls")),
    path("people/", include("jiayuan.people.urls")),
    path("screening/", include("jiayuan.screening.urls")),
    path("control/", include("jiayuan.control.urls")),
    path("supplies/", include("jiayuan.supplies.urls")),
    path("volunteers/", include("jiayuan.volunteers.urls")),
    path("operations/", include("jiayuan.operations.urls")),
    path("gates/", include("jiayuan.gates.urls")),
    path("care/", include("jiayuan.care.urls")),
    path("bulletin/", include("jiayuan.bulletin.urls")),
    path("h/<str:token>/", household_home, name="household_home"),
    path("h/<str:token>/screening/", include("jiayuan.screening.household_urls")),
    path("h/<str:token>/control/", include("jiayuan.control.household_urls")),
    path("h/<str:token>/supplies/", include("jiayuan.supplies.household_urls")),
    path("h/<str:token>/volunteers/", include("jiayuan.volunteers.household_urls")),
    path("h/<str:token>/gates/", include("jiayuan.gates.household_urls")),
    path("h/<str:token>/care/", include("jiayuan.care.household_urls")),
    path("h/<str:token>/bulletin/", include("jiayuan.bulletin.household_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
urlpatterns += bench.urls()  # POST /bench/ceiling, only with JIAYUAN_BENCH_CEILING=1 (issue #13 benches)

handler404 = "jiayuan.core.errors.not_found"
handler500 = "jiayuan.core.errors.server_error"
