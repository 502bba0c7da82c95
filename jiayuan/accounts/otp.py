"""Who must sign in with a second factor (TOTP on a phone, or a one-time backup code).

Every account whose roles can reveal ID numbers or phones, export the roster unmasked or manage
the team, over any place outside the demo neighbourhood (and every superuser). The demo
neighbourhood's accounts are offered 2FA, not made to enrol, so the README's demo logins work with
the password alone. Whoever has enrolled is always asked for the code. API tokens are unaffected.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q
from django_otp import user_has_device

from jiayuan.core.permissions import ROLE_ACTIONS, Action

__all__ = ["SENSITIVE_ACTIONS", "SENSITIVE_ROLES", "needs_verification", "second_factor_required"]

SENSITIVE_ACTIONS = frozenset({Action.REVEAL_PII, Action.EXPORT_ROSTER_UNMASKED, Action.MANAGE_TEAM})
SENSITIVE_ROLES = frozenset(role for role, actions in ROLE_ACTIONS.items() if actions & SENSITIVE_ACTIONS)

# An assignment over a place in the demo neighbourhood (read through the place, as scope does).
_IN_DEMO = (
    Q(level="neighbourhood", neighbourhood__is_demo=True)
    | Q(level="compound", compound__neighbourhood__is_demo=True)
    | Q(level="building", building__neighbourhood__is_demo=True)
)


def second_factor_required(user) -> bool:
    """True when ``user`` may not use the web pages without a second factor."""
    if not settings.JIAYUAN_2FA_REQUIRED or not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    from jiayuan.accounts.models import Assignment

    return Assignment.objects.filter(user_id=user.pk, active=True, role__in=SENSITIVE_ROLES).exclude(_IN_DEMO).exists()


def needs_verification(user) -> str | None:
    """What a signed-in session still lacks: "verify" (enrolled, code not yet given this session),
    "enrol" (required but not set up), or None."""
    if not getattr(user, "is_authenticated", False) or user.is_verified():
        return None
    if user_has_device(user, confirmed=True):
        return "verify"
    if second_factor_required(user):
        return "enrol"
    return None
