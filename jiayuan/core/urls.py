from django.urls import path

from jiayuan.core import views

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("audit/", views.audit_log, name="audit"),
    path("help/", views.help_section, name="help"),
    path("help/<str:lang>/<str:page>/", views.help_page, name="help_page"),
]
