"""Django's password check, refused while the account or the address is locked out."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from jiayuan.accounts import throttle


class ThrottledModelBackend(ModelBackend):
    """``ModelBackend`` behind the failure counts of ``accounts.throttle``: every caller of
    ``authenticate`` (the sign-in page, the admin's, ``client.login``) is counted the same way.

    While locked, raises ``PermissionDenied`` (Django then stops and signals a failed sign-in,
    which ``accounts.signals`` audits as throttled) without checking the password at all.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(self._username_field())
        if username is not None and throttle.status(str(username), throttle.client_address(request)).locked:
            if request is not None:
                request.jiayuan_login_throttled = True
            raise PermissionDenied
        return super().authenticate(request, username=username, password=password, **kwargs)

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD
