"""Pages a household opens through its link, under `/h/<token>/gates/` (no login)."""

from django.urls import path

from jiayuan.gates import household_views as views

app_name = "gates_household"
urlpatterns = [
    path("", views.home, name="home"),
]
