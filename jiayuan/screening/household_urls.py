"""Pages a household opens through its link, under `/h/<token>/screening/` (no login)."""

from django.urls import path

from jiayuan.screening import household_views

app_name = "screening_household"
urlpatterns = [
    path("antigen/", household_views.antigen_report, name="antigen"),
]
