"""Someone signed in with a password another person chose goes to "change password" first."""

from __future__ import annotations

from django.shortcuts import redirect
from django.urls import reverse

# Reachable before the password is changed: the page itself, signing out, the language switch.
_ALLOWED = ("/accounts/password/", "/accounts/logout/", "/i18n/")


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
