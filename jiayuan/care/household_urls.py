"""Pages a household opens through its link, under `/h/<token>/care/` (no login)."""

from django.urls import path

from jiayuan.care import household_views as views

app_name = "care_household"
urlpatterns = [
    path("", views.home, name="home"),
    path("<int:request_id>/confirm/", views.confirm, name="confirm"),
    path("suggest/", views.suggest, name="suggest"),
]
