"""Two-factor sign-in (TOTP + backup codes, django-otp; see ``accounts.otp``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from jiayuan.accounts.models import User
from jiayuan.accounts.services.team import _audit_member, _wholly_in_team
from jiayuan.core.audit import audit_record

# --- Two-factor sign-in (TOTP + backup codes, django-otp; see ``accounts.otp``) -------------------

BACKUP_CODE_COUNT = 10
_TOTP_NAME = "手机验证器"


def otp_enrol_start(*, user: User):
    """The unconfirmed authenticator being set up (the same one until confirmed, so reloading the
    page does not change the QR code); ``None`` when one is already confirmed."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return None
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=_TOTP_NAME, confirmed=False)


def _new_backup_codes(user: User) -> list[str]:
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="备用码", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


@transaction.atomic
def otp_enrol_confirm(*, user: User, device, code: str) -> list[str]:
    """Confirm the authenticator with a code it shows; returns the backup codes (shown once,
    stored only as django-otp stores them). Raises ``ValidationError`` on a wrong code."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user, confirmed=False)
    if not device.verify_token(code):
        raise ValidationError({"code": ["验证码不对: 请输入手机上此刻显示的 6 位数字(注意手机时间要准确)"]})
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    codes = _new_backup_codes(user)
    audit_record(actor=user, action="user.otp_enrol", obj=user, object_repr=user.username)
    return codes


@transaction.atomic
def otp_backup_codes_regenerate(*, user: User) -> list[str]:
    """New backup codes; the old ones stop working."""
    codes = _new_backup_codes(user)
    audit_record(actor=user, action="user.otp_backup_codes", obj=user, object_repr=user.username)
    return codes


def _delete_devices(user: User) -> int:
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user).delete()[0] + StaticDevice.objects.filter(user=user).delete()[0]


@transaction.atomic
def otp_remove(*, user: User) -> None:
    """Turn one's own 2FA off (for an account that must have it, the next page asks to enrol again:
    this is how a new phone is set up)."""
    _delete_devices(user)
    audit_record(actor=user, action="user.otp_remove", obj=user, object_repr=user.username)


def otp_verify(*, user: User, code: str):
    """The device that accepts ``code`` (a backup code is used up), or ``None`` — audited. Wrong
    codes slow the device down (django-otp's throttling: 1, 2, 4 … seconds)."""
    from django_otp import match_token

    device = match_token(user, code)
    if device is None:
        audit_record(actor=user, action="user.otp_failed", obj=user, object_repr=user.username)
    return device


@transaction.atomic
def team_otp_reset(*, actor, user: User) -> User:
    """Remove a member's second factor (a lost phone and lost backup codes); their next sign-in
    enrols again, and a session verified with the old phone is asked again. Same reach as a
    password reset; audited."""
    user, first = _wholly_in_team(actor, user, "重置两步验证")
    removed = _delete_devices(user)
    _audit_member(actor, user, first, "user.otp_reset", devices_removed=removed)
    return user
