"""Pages a household opens through its link, under `/h/<token>/supplies/` (no login)."""

from django.urls import path

from jiayuan.supplies import household_views as views

app_name = "supplies_household"
urlpatterns = [
    path("", views.home, name="home"),
    path("buy/<int:group_buy_id>/", views.order, name="order"),
    path("vote/<int:group_buy_id>/", views.vote, name="vote"),
    path("leader/apply/", views.leader_apply, name="leader_apply"),
    path("leader/propose/", views.leader_propose, name="leader_propose"),
    path("leader/<int:group_buy_id>/<str:action>/", views.leader_action, name="leader_action"),
    path("book/<int:window_id>/", views.book, name="book"),
]
