"""Before anything else on the web pages: the second factor (``accounts.otp``), then a password
of one's own for someone whose password another person chose."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.shortcuts import redirect
from django.urls import reverse

# Reachable before the password is changed: the page itself, signing out, the language switch,
# and the second factor (asked first, by SecondFactorMiddleware).
_ALLOWED = ("/accounts/password/", "/accounts/logout/", "/i18n/", "/accounts/2fa/")
# Reachable before the second factor is given: its own pages, signing out, the language switch,
# the user guide (how to set up an authenticator).
_ALLOWED_2FA = ("/accounts/2fa/", "/accounts/logout/", "/i18n/", "/help/")
_FREE_KEY = "jiayuan_2fa_free_until"
_FREE_SECONDS = 60


class MustChangePasswordMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # The path first: an API request must not load the session user it does not use.
        if request.path.startswith(("/api/", "/static/", *_ALLOWED)):
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "must_change_password", False):
            return redirect(reverse("accounts:password_change"))
        return self.get_response(request)


class SecondFactorMiddleware:
    """A session that has given the password but not the code reaches only the code page (or
    enrolment, when the account must have 2FA and has none). On the API such a session counts as
    signed out; bearer tokens are not touched (their requests never load the session user)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not settings.JIAYUAN_2FA_REQUIRED or request.path.startswith("/static/"):
            return self.get_response(request)
        from jiayuan.accounts.otp import needs_verification

        if request.path.startswith("/api/"):
            if "HTTP_AUTHORIZATION" not in request.META and needs_verification(request.user):
                request.user = AnonymousUser()
            return self.get_response(request)
        if request.path.startswith(_ALLOWED_2FA):
            return self.get_response(request)
        user = getattr(request, "user", None)
        if not getattr(user, "is_authenticated", False):
            return self.get_response(request)
        # A session that needs no second factor is not checked again for a minute: a sampler's
        # scans and a volunteer's pages spare the three queries; a sensitive role granted
        # meanwhile asks for enrolment within that minute.
        if request.session.get(_FREE_KEY, 0) > time.time():
            return self.get_response(request)
        need = needs_verification(user)
        if need is None:
            if not user.is_verified():
                request.session[_FREE_KEY] = time.time() + _FREE_SECONDS
            return self.get_response(request)
        target = reverse("accounts:otp_verify" if need == "verify" else "accounts:otp_setup")
        return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
