"""Pages a household opens through its link, under `/h/<token>/control/` (no login)."""

from django.urls import path

from jiayuan.control import household_views

app_name = "control_household"
urlpatterns = [
    path("health/", household_views.health_check, name="health"),
]
