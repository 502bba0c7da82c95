from django.urls import path

from jiayuan.bulletin import views

app_name = "bulletin"
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:bulletin_id>/", views.detail, name="detail"),
    path("<int:bulletin_id>/refresh/", views.refresh, name="refresh"),
    path("notices/", views.notices, name="notices"),
    path("notices/acks/", views.acks, name="acks"),
    path("notices/<int:notice_id>/", views.notice, name="notice"),
    path("notices/<int:notice_id>/unread/", views.notice_unread, name="notice_unread"),
    path("notices/<int:notice_id>/poster/", views.notice_poster, name="notice_poster"),
    path("trends/", views.trends, name="trends"),
    path("trends.xlsx", views.trends_xlsx, name="trends_xlsx"),
    path("rollup/", views.rollup, name="rollup"),
    path("rollup.xlsx", views.rollup_xlsx, name="rollup_xlsx"),
    path("p/<str:key>/", views.public_archive, name="public_archive"),
    path("p/<str:key>/<str:day>/", views.public_day, name="public_day"),
    path("p/<str:key>/<str:day>/print/", views.public_print, name="public_print"),
    path("p/<str:key>/<str:day>/bulletin.png", views.public_png, name="public_png"),
    path("p/<str:key>/notices/<int:notice_id>/", views.public_notice, name="public_notice"),
]
