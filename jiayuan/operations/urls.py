from django.urls import path

from jiayuan.operations import views

app_name = "operations"
urlpatterns = [
    path("", views.index, name="index"),
    path("settings/", views.settings_edit, name="settings"),
    path("findings/new/", views.finding_new, name="finding_new"),
    path("findings/<int:finding_id>/photo/", views.finding_photo, name="finding_photo"),
    path("tasks/", views.task_list, name="tasks"),
    path("tasks/<int:task_id>/", views.task_detail, name="task"),
    path("tasks/<int:task_id>/<str:status>/", views.task_move, name="task_move"),
    path("patrols/", views.patrols, name="patrols"),
    path("patrols/<int:run_id>/end/", views.patrol_end, name="patrol_end"),
    path("disinfection/", views.disinfection, name="disinfection"),
    path("disinfection/corridor/<int:building_id>/", views.corridor_add, name="corridor_add"),
    path("disinfection/<int:point_id>/log/", views.disinfection_log, name="disinfection_log"),
    path("garbage/", views.garbage, name="garbage"),
    path("garbage/<int:building_id>/log/", views.garbage_log, name="garbage_log"),
    path("cases/", views.cases, name="cases"),
    path("cases/<int:case_id>/", views.case_detail, name="case"),
    path("cases/<int:case_id>/step/", views.case_step, name="case_step"),
    path("cases/<int:case_id>/occupant/", views.case_occupant, name="case_occupant"),
]
