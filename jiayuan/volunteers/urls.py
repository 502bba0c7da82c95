from django.urls import path

from jiayuan.volunteers import views

app_name = "volunteers"
urlpatterns = [
    path("", views.index, name="index"),
    path("people/", views.roster, name="roster"),
    path("people/new/", views.volunteer_create, name="volunteer_create"),
    path("people/<int:volunteer_id>/", views.volunteer_detail, name="volunteer"),
    path("people/<int:volunteer_id>/edit/", views.volunteer_edit, name="volunteer_edit"),
    path("people/<int:volunteer_id>/status/", views.volunteer_status, name="volunteer_status"),
    path("people/<int:volunteer_id>/reveal/", views.volunteer_reveal, name="volunteer_reveal"),
    path("people/<int:volunteer_id>/login/", views.volunteer_login, name="volunteer_login"),
    path("people/<int:volunteer_id>/certificate/", views.certificate, name="certificate"),
    path("teams/", views.teams, name="teams"),
    path("teams/<int:team_id>/", views.team_detail, name="team"),
    path("teams/<int:team_id>/settings/", views.team_settings, name="team_settings"),
    path("teams/<int:team_id>/members/", views.team_member, name="team_member"),
    path("shifts/", views.shifts, name="shifts"),
    path("shifts/no-shows/", views.no_shows, name="no_shows"),
    path("shifts/<int:shift_id>/", views.shift_detail, name="shift"),
    path("shifts/<int:shift_id>/edit/", views.shift_edit, name="shift_edit"),
    path("shifts/<int:shift_id>/claim/", views.shift_claim, name="shift_claim"),
    path("shifts/<int:shift_id>/check-<str:direction>/", views.shift_check, name="shift_check"),
    path("shifts/<int:shift_id>/cancel/", views.shift_cancel, name="shift_cancel"),
    path("assignments/<int:assignment_id>/cancel/", views.assignment_cancel, name="assignment_cancel"),
    path("hours/", views.hours, name="hours"),
]
