"""Pages a household opens through its link, under `/h/<token>/bulletin/` (no login)."""

from django.urls import path

from jiayuan.bulletin import household_views as views

app_name = "bulletin_household"
urlpatterns = [
    path("", views.notices, name="notices"),
    path("notices/<int:notice_id>/", views.notice, name="notice"),
]
