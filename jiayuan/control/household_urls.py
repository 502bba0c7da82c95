"""Pages a household opens through its link, under `/h/<token>/control/` (no login)."""

from django.urls import path  # noqa: F401

app_name = "control_household"
urlpatterns: list = []
