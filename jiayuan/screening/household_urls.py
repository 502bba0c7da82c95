"""Pages a household opens through its link, under `/h/<token>/screening/` (no login)."""

from django.urls import path  # noqa: F401

app_name = "screening_household"
urlpatterns: list = []
