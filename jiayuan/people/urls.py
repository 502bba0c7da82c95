from django.urls import path

from jiayuan.people import views

app_name = "people"
urlpatterns = [
    path("", views.resident_list, name="list"),
    path("new/", views.resident_create, name="create"),
    path("<int:resident_id>/", views.resident_detail, name="detail"),
    path("<int:resident_id>/edit/", views.resident_edit, name="edit"),
    path("<int:resident_id>/delete/", views.resident_delete, name="delete"),
    path("<int:resident_id>/reveal/<str:field>/", views.resident_reveal, name="reveal"),
    path("import/", views.import_upload, name="import"),
    path("import/template.xlsx", views.import_template, name="import_template"),
    path("import/<int:job_id>/", views.import_status, name="import_status"),
    path("import/<int:job_id>/commit/", views.import_commit, name="import_commit"),
    path("import/<int:job_id>/restart/", views.import_restart, name="import_restart"),
    path("export/", views.export, name="export"),
]
