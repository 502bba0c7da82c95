"""Core models: the append-only audit log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["AuditEvent"]


class AuditEventQuerySet(models.QuerySet):
    """Audit events are never changed or removed through the ORM."""

    def update(self, **kwargs):
        raise PermissionError("audit events are append-only")

    def delete(self):
        raise PermissionError("audit events are append-only")


class AuditEvent(models.Model):
    """One thing somebody did: a state change, a reveal of personal data, an export, an import.

    Append-only: the ORM refuses updates and deletes, and on PostgreSQL a trigger refuses them
    in the database too. ``object_repr`` and ``changes`` never hold personal data in clear:
    services pass masked values.
    """

    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    # Not a database constraint (ADR 0023, addendum of stop 21): PostgreSQL checked it at every
    # audited write's commit with a share lock on the acting user's row, and the audit log must
    # keep its rows whatever becomes of the users (they are deactivated, never deleted; the ORM
    # still refuses to delete one with events, PROTECT). ``actor_label`` keeps the name.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    actor_label = models.CharField(_("操作人名称"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=64, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=64, blank=True)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    neighbourhood_id = models.BigIntegerField(_("居民区"), null=True, blank=True, db_index=True)
    changes = models.JSONField(_("内容"), default=dict, blank=True)
    ip = models.CharField(_("来源地址"), max_length=64, blank=True)
    user_agent = models.CharField(_("客户端"), max_length=300, blank=True)
    channel = models.CharField(_("渠道"), max_length=16, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        # Guard, not workflow: an existing audit row must never be rewritten.
        if self.pk is not None and not self._state.adding:
            raise PermissionError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit events are append-only")


class IdempotencyRecord(models.Model):
    """The first successful answer to a write retried with the same idempotency key.

    Phones on bad networks and scanners retry; a retried write must be acknowledged once and
    stored once (ARCHITECTURE.md). ``scope`` names the endpoint and the caller (user or household
    link), so two callers cannot collide on a key. Old rows can be purged after a few days.
    """

    scope = models.CharField(max_length=200)
    key = models.CharField(max_length=200)
    status = models.PositiveSmallIntegerField()
    body = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("幂等记录")
        verbose_name_plural = _("幂等记录")
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_unique_scope_key")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
