from django.urls import path

from jiayuan.places import views

app_name = "places"
urlpatterns = [
    path("", views.compound_list, name="compounds"),
    path("compounds/<int:compound_id>/", views.compound_detail, name="compound"),
    path("buildings/<int:building_id>/", views.building_detail, name="building"),
    path("buildings/<int:building_id>/qr-cards/", views.building_qr_cards, name="building_qr_cards"),
    path("compounds/<int:compound_id>/qr-cards/", views.compound_qr_cards, name="compound_qr_cards"),
    path("households/<int:household_id>/", views.household_detail, name="household"),
    path("households/<int:household_id>/link/issue/", views.household_link_issue, name="household_link_issue"),
    path("households/<int:household_id>/link/revoke/", views.household_link_revoke, name="household_link_revoke"),
    path("households/<int:household_id>/link/card/", views.household_link_card, name="household_link_card"),
    path("households/<int:household_id>/link/qr.svg", views.household_link_qr, name="household_link_qr"),
]
