from django.urls import path

from jiayuan.screening import views

app_name = "screening"
urlpatterns = [
    path("", views.rounds, name="rounds"),
    path("<int:round_id>/", views.round_detail, name="round"),
    path("<int:round_id>/finish/", views.round_finish, name="round_finish"),
    path("<int:round_id>/export/", views.round_export, name="round_export"),
    path("<int:round_id>/plan/", views.plan, name="plan"),
    path("<int:round_id>/plan/generate/", views.plan_generate, name="plan_generate"),
    path("<int:round_id>/stations/<int:station_id>/delete/", views.station_delete, name="station_delete"),
    path("<int:round_id>/missed/", views.missed, name="missed"),
    path("<int:round_id>/missed/export/", views.missed_export, name="missed_export"),
    path("<int:round_id>/exempt/<int:resident_id>/", views.exempt, name="exempt"),
    path("<int:round_id>/exemptions/", views.exemptions, name="exemptions"),
    path("<int:round_id>/retests/", views.retests, name="retests"),
    path("<int:round_id>/results/", views.results, name="results"),
    path("<int:round_id>/results/import/<int:job_id>/", views.results_preview, name="results_preview"),
    path("<int:round_id>/sample/", views.sampler, name="sampler"),
    path("<int:round_id>/sample/scan/", views.sampler_scan, name="sampler_scan"),
    path("<int:round_id>/sample/close/", views.sampler_close, name="sampler_close"),
    path("<int:round_id>/sample/person/", views.sampler_person, name="sampler_person"),
    path("<int:round_id>/sample/undo/", views.sampler_undo, name="sampler_undo"),
    path("sampler/", views.sampler_home, name="sampler_home"),
    path("cards/", views.cards, name="cards"),
    path("antigen/", views.antigen, name="antigen"),
    path("antigen/report/", views.antigen_report, name="antigen_report"),
    path("antigen/<int:report_id>/photo/", views.antigen_photo, name="antigen_photo"),
    path("antigen/<int:report_id>/confirm/", views.antigen_confirm, name="antigen_confirm"),
]
