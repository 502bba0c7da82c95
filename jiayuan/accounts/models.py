"""Users, role assignments over a scope, API tokens and household access links."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from jiayuan.core.permissions import Role
from jiayuan.places.models import Building, Compound, Household, Neighbourhood, Street

__all__ = ["ApiToken", "Assignment", "HouseholdLink", "ScopeLevel", "User"]


class User(AbstractUser):
    """A staff member or volunteer who signs in. Residents use household links instead."""

    display_name = models.CharField(_("显示名称"), max_length=64, blank=True)
    # Set when someone else chose the password (a new member, a reset): the next sign-in on the
    # web asks for a password of one's own before anything else (``accounts.middleware``).
    must_change_password = models.BooleanField(_("须修改密码"), default=False)

    class Meta(AbstractUser.Meta):
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        swappable = "AUTH_USER_MODEL"

    def __str__(self) -> str:
        return self.display_name or self.username


class ScopeLevel(models.TextChoices):
    STREET = "street", _("街道")
    NEIGHBOURHOOD = "neighbourhood", _("居民区")
    COMPOUND = "compound", _("小区")
    BUILDING = "building", _("楼栋")


class Assignment(models.Model):
    """A role over one scope: "building leader of 3号楼", "committee staff of DEMO"."""

    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="assignments")
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    level = models.CharField(_("范围级别"), max_length=16, choices=ScopeLevel.choices)
    street = models.ForeignKey(Street, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    neighbourhood = models.ForeignKey(
        Neighbourhood, on_delete=models.CASCADE, null=True, blank=True, related_name="assignments"
    )
    compound = models.ForeignKey(Compound, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    building = models.ForeignKey(Building, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    active = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("角色授权")
        verbose_name_plural = _("角色授权")
        ordering = ["user_id", "role"]
        constraints = [
            # The scope column named by ``level`` is set; the finer ones are not.
            models.CheckConstraint(
                condition=(
                    Q(level="street", street__isnull=False, compound__isnull=True, building__isnull=True)
                    | Q(
                        level="neighbourhood", neighbourhood__isnull=False, compound__isnull=True, building__isnull=True
                    )
                    | Q(level="compound", compound__isnull=False, building__isnull=True)
                    | Q(level="building", building__isnull=False)
                ),
                name="assignment_scope_matches_level",
                violation_error_message=_("授权范围与级别不一致"),
            ),
            # One per level: a plain unique over the nullable scope columns would let duplicates
            # through (NULLs are distinct), and SQLite ignores nulls_distinct=False.
            *(
                models.UniqueConstraint(
                    fields=["user", "role", level],
                    condition=Q(level=level),
                    name=f"assignment_unique_{level}",
                    violation_error_message=_("该用户已有此授权"),
                )
                for level in ("street", "neighbourhood", "compound", "building")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.target}"

    # An assignment belongs to the place it is over, read through that place only (the
    # ``neighbourhood`` column beside a compound or building row is a convenience that an admin
    # edit could leave inconsistent, so scope never trusts it).
    scope_fields = {
        "street": lambda ids: (
            Q(level="street", street_id__in=ids)
            | Q(level="neighbourhood", neighbourhood__street_id__in=ids)
            | Q(level="compound", compound__neighbourhood__street_id__in=ids)
            | Q(level="building", building__neighbourhood__street_id__in=ids)
        ),
        "neighbourhood": lambda ids: (
            Q(level="neighbourhood", neighbourhood_id__in=ids)
            | Q(level="compound", compound__neighbourhood_id__in=ids)
            | Q(level="building", building__neighbourhood_id__in=ids)
        ),
    }

    @property
    def target_id(self) -> int:
        return getattr(self, f"{self.level}_id")

    @property
    def target(self):
        return getattr(self, self.level)


class ApiToken(models.Model):
    """A bearer token for the API. Only a SHA-256 of the key is stored; the key is shown once."""

    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("名称"), max_length=64, blank=True)
    prefix = models.CharField(_("前缀"), max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class HouseholdLink(models.Model):
    """A signed, revocable link that lets one household act without an account.

    The URL carries ``signing.dumps({"l": id, "n": nonce})``: the signature stops forgery, the
    nonce in the row lets one link be revoked without touching the signing key, and at most one
    link per household is live at a time. Printed as a QR code for residents without a phone.
    """

    household = models.ForeignKey(
        Household, verbose_name=_("住户"), on_delete=models.CASCADE, related_name="access_links"
    )
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    nonce = models.CharField(max_length=32)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)

    scope_fields = {
        "street": "neighbourhood__street_id",
        "neighbourhood": "neighbourhood_id",
        "compound": "household__building__compound_id",
        "building": "household__building_id",
    }

    class Meta:
        verbose_name = _("住户链接")
        verbose_name_plural = _("住户链接")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(revoked_at__isnull=True),
                name="household_link_one_live",
                violation_error_message=_("该住户已有有效链接"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.household} ({'revoked' if self.revoked_at else 'live'})"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None
