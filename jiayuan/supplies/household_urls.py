"""Pages a household opens through its link, under `/h/<token>/supplies/` (no login)."""

from django.urls import path  # noqa: F401

app_name = "supplies_household"
urlpatterns: list = []
