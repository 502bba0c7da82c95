from django.urls import path

from jiayuan.gates import views

app_name = "gates"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.gate_create, name="gate_create"),
    path("settings/", views.settings_edit, name="settings"),
    path("<int:gate_id>/", views.gate_detail, name="gate"),
    path("<int:gate_id>/scan/", views.scan, name="scan"),
    path("<int:gate_id>/visitor/", views.visitor, name="visitor"),
    path("<int:gate_id>/vehicle/", views.vehicle, name="vehicle"),
    path("<int:gate_id>/returnee/", views.returnee, name="returnee"),
    path("passages/", views.passages, name="passages"),
    path("passes/", views.passes, name="passes"),
    path("passes/<int:pass_id>/", views.pass_card, name="pass_card"),
    path("passes/<int:pass_id>/revoke/", views.pass_revoke, name="pass_revoke"),
    path("parcels/", views.parcels, name="parcels"),
    path("parcels/<int:parcel_id>/<str:action>/", views.parcel_action, name="parcel_action"),
    path("deliveries/", views.deliveries, name="deliveries"),
]
