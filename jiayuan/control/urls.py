from django.urls import path

from jiayuan.control import views

app_name = "control"
urlpatterns = [
    path("", views.index, name="index"),
    path("map/", views.isolation_map, name="map"),
    path("summary/", views.summary, name="summary"),
    path("summary/export/", views.summary_export, name="summary_export"),
    path("map/export/", views.isolation_map_export, name="map_export"),
    path("zones/", views.zone_list, name="zones"),
    path("zones/<str:kind>/<int:pk>/", views.zone_detail, name="zone"),
    path("zones/overrides/<int:override_id>/end/", views.zone_override_end, name="zone_override_end"),
    path("policy/", views.policy, name="policy"),
    path("policy/<int:neighbourhood_id>/<str:reason>/", views.policy_edit, name="policy_edit"),
    path("cases/", views.case_list, name="cases"),
    path("cases/new/", views.case_create, name="case_create"),
    path("cases/<int:case_id>/", views.case_detail, name="case"),
    path("quarantines/", views.quarantine_list, name="quarantines"),
    path("quarantines/new/", views.quarantine_create, name="quarantine_create"),
    path("quarantines/<int:quarantine_id>/", views.quarantine_detail, name="quarantine"),
    path("quarantines/<int:quarantine_id>/notice/", views.release_notice, name="release_notice"),
    path("checks/", views.checks_today, name="checks"),
    path("checks/record/", views.check_record, name="check_record"),
    path("returnees/", views.returnee_list, name="returnees"),
    path("returnees/new/", views.returnee_create, name="returnee_create"),
]
