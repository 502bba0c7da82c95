from django.contrib.auth import views as auth_views
from django.urls import path

from jiayuan.accounts import views
from jiayuan.accounts.forms import LoginForm

app_name = "accounts"
urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="accounts/login.html", authentication_form=LoginForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.password_change, name="password_change"),
    path("", views.account, name="account"),
    path("2fa/setup/", views.otp_setup, name="otp_setup"),
    path("2fa/verify/", views.otp_verify, name="otp_verify"),
    path("2fa/backup-codes/", views.otp_backup_codes, name="otp_backup_codes"),
    path("2fa/remove/", views.otp_remove, name="otp_remove"),
]
