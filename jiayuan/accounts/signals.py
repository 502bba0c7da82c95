"""Sign-in outcomes: every failure counted (``accounts.throttle``) and audited; a success clears
the account's count."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from jiayuan.accounts import throttle
from jiayuan.core.audit import audit_record


def _neighbourhood_of(user) -> int | None:
    """Where the account works, so the head sees attempts on the team's accounts in 操作记录."""
    if user is None:
        return None
    return (
        user.assignments.filter(active=True, neighbourhood__isnull=False)
        .order_by("pk")
        .values_list("neighbourhood_id", flat=True)
        .first()
    )


@receiver(user_login_failed, dispatch_uid="jiayuan.accounts.login_failed")
def login_failed(sender, credentials, request=None, **kwargs):
    User = get_user_model()
    username = str(credentials.get(User.USERNAME_FIELD) or credentials.get("username") or "")[:150]
    address = throttle.client_address(request)
    # Already locked: the backend refused without checking the password (also for callers that
    # pass no request, such as the admin's ``client.login`` in tests); not counted again.
    counts = throttle.status(username, address)
    throttled = counts.locked
    if not throttled:
        counts = throttle.record_failure(username, address)
    user = User.objects.filter(**{f"{User.USERNAME_FIELD}__iexact": username}).first() if username else None
    audit_record(
        # Nobody signed in: the 操作记录 names the address it came from ("203.0.113.9 登录失败 · li").
        actor=address or "?",
        action="user.login_throttled" if throttled else "user.login_failed",
        object_type=User._meta.label_lower,
        object_id=user.pk if user else "",
        object_repr=username,
        neighbourhood_id=_neighbourhood_of(user),
        changes={
            "known_user": user is not None,
            "account_failures": counts.account_failures,
            "address_failures": counts.address_failures,
            "locked": counts.locked,
        },
    )


@receiver(user_logged_in, dispatch_uid="jiayuan.accounts.logged_in")
def logged_in(sender, user, request=None, **kwargs):
    throttle.clear_account(user.get_username())
