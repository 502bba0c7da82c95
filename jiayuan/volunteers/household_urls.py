"""Pages a household opens through its link, under `/h/<token>/volunteers/` (no login)."""

from django.urls import path

from jiayuan.volunteers import household_views as views

app_name = "volunteers_household"
urlpatterns = [
    path("apply/", views.apply, name="apply"),
]
