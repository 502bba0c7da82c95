from django.urls import path

from jiayuan.care import views

app_name = "care"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.phone_log, name="phone_log"),
    path("new/who/", views.who_lookup, name="who_lookup"),
    path("<int:request_id>/", views.detail, name="detail"),
    path("<int:request_id>/step/", views.step, name="step"),
    path("<int:request_id>/assign/", views.assign, name="assign"),
    path("<int:request_id>/medicine/", views.errand_item, name="errand_item"),
    path("<int:request_id>/cost/", views.errand_cost, name="errand_cost"),
    path("errands/", views.errands, name="errands"),
    path("errands/<int:run_id>/", views.run_detail, name="run"),
    path("errands/<int:run_id>/done/", views.run_done, name="run_done"),
    path("errands/<int:run_id>/xlsx/", views.run_xlsx, name="run_xlsx"),
    path("trips/", views.trips, name="trips"),
    path("trips/120/<int:call_id>/", views.emergency_outcome, name="emergency_outcome"),
    path("visits/", views.visits, name="visits"),
    path("visits/sync/", views.visits_sync, name="visits_sync"),
    path("visits/<int:plan_id>/record/", views.visit_record, name="visit_record"),
    path("visits/<int:plan_id>/plan/", views.visit_plan, name="visit_plan"),
    path("support/", views.support, name="support"),
    path("suggestions/", views.suggestions, name="suggestions"),
    path("suggestions/<int:group_id>/merge/", views.suggestion_merge, name="suggestion_merge"),
    path("suggestions/<int:group_id>/reply/", views.suggestion_reply, name="suggestion_reply"),
    path("settings/", views.settings_edit, name="settings"),
]
