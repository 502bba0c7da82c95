from django.urls import path

from jiayuan.accounts import views

app_name = "team"
urlpatterns = [
    path("", views.team_list, name="list"),
    path("new/", views.team_new, name="new"),
    path("<int:member_id>/", views.team_member, name="member"),
    path("<int:member_id>/password/", views.team_password_reset, name="password_reset"),
    path("<int:member_id>/2fa-reset/", views.team_otp_reset, name="otp_reset"),
    path("<int:member_id>/deactivate/", views.team_deactivate, name="deactivate"),
    path("roles/<int:assignment_id>/revoke/", views.team_revoke, name="revoke"),
]
