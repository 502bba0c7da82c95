"""Residents and their tags."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from jiayuan.core.fields import EncryptedTextField
from jiayuan.core.masking import mask_id_number, mask_name, mask_phone
from jiayuan.people.choices import Gender, IdType, ImportStatus, Presence, Relation, Residency, Tag
from jiayuan.places.models import Household, Neighbourhood

__all__ = ["Resident", "ResidentTag", "RosterImport"]


class ResidentQuerySet(models.QuerySet):
    def without_secrets(self):
        """Residents without their ID number and phone: not loaded, so not decrypted — for the
        pages that only show names (the household's own page and its panels)."""
        return self.defer("id_number", "phone")


class Resident(models.Model):
    """A person who lives (or is registered) in the neighbourhood.

    ``id_number`` and ``phone`` are encrypted at rest; ``*_hash`` beside them is a keyed hash of
    the normalised value for exact lookup and de-duplication, and ``phone_last4`` supports the
    committee's everyday search "the one whose phone ends in 5678". Set all of them through
    ``people.services`` only, never directly.
    """

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="residents"
    )
    household = models.ForeignKey(
        Household, verbose_name=_("住户"), on_delete=models.PROTECT, related_name="residents", null=True, blank=True
    )
    name = models.CharField(_("姓名"), max_length=64)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices, default=Gender.UNKNOWN)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    id_type = models.CharField(_("证件类型"), max_length=16, choices=IdType.choices, default=IdType.MAINLAND)
    id_number = EncryptedTextField(_("证件号码"), blank=True)
    id_number_hash = models.CharField(max_length=64, blank=True, editable=False)
    phone = EncryptedTextField(_("联系电话"), blank=True)
    phone_hash = models.CharField(max_length=64, blank=True, editable=False)
    phone_last4 = models.CharField(max_length=4, blank=True, editable=False)
    relation_to_head = models.CharField(
        _("与户主关系"), max_length=16, choices=Relation.choices, default=Relation.OTHER
    )
    residency = models.CharField(_("人员类型"), max_length=16, choices=Residency.choices, default=Residency.OWNER)
    presence = models.CharField(_("在住状态"), max_length=24, choices=Presence.choices, default=Presence.PRESENT)
    notes = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    scope_fields = {
        "street": "neighbourhood__street_id",
        "neighbourhood": "neighbourhood_id",
        "compound": "household__building__compound_id",
        "building": "household__building_id",
    }

    objects = ResidentQuerySet.as_manager()

    class Meta:
        verbose_name = _("居民")
        verbose_name_plural = _("居民")
        ordering = ["household_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["neighbourhood", "id_number_hash"],
                condition=~Q(id_number_hash=""),
                name="resident_unique_id_number",
                violation_error_message=_("该证件号码已在本居民区登记"),
            )
        ]
        # Plain btree indexes via Meta (db_index on a CharField also adds a *_like index on
        # PostgreSQL that exact lookups never use and every import pays for).
        indexes = [
            models.Index(fields=["neighbourhood", "name"], name="resident_name_idx"),
            models.Index(fields=["phone_hash"], name="resident_phone_hash_idx"),
            models.Index(fields=["phone_last4"], name="resident_phone_last4_idx"),
            models.Index(fields=["neighbourhood", "presence"], name="resident_presence_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def audit_repr(self) -> str:
        return f"#{self.pk} {mask_name(self.name)}"

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)

    @property
    def tags(self) -> list[str]:
        """Tag codes; uses ``prefetch_related('tag_rows')`` when the selector did it."""
        return sorted(t.tag for t in self.tag_rows.all())

    @property
    def tag_labels(self) -> list[str]:
        return [str(Tag(t).label) for t in self.tags if t in Tag.values]

    @property
    def age(self) -> int | None:
        if not self.birth_date:
            return None
        from django.utils import timezone

        today = timezone.localdate()
        b = self.birth_date
        return today.year - b.year - ((today.month, today.day) < (b.month, b.day))


class ResidentTag(models.Model):
    """One tag on one resident (独居老人, 无智能手机 …): a row each, so "all bedridden residents of
    building 3" is one indexed query on SQLite and PostgreSQL alike."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="tag_rows")
    tag = models.CharField(_("标签"), max_length=32, choices=Tag.choices)

    class Meta:
        verbose_name = _("居民标签")
        verbose_name_plural = _("居民标签")
        constraints = [models.UniqueConstraint(fields=["resident", "tag"], name="resident_tag_unique")]
        indexes = [models.Index(fields=["tag"], name="resident_tag_tag_idx")]

    def __str__(self) -> str:
        return self.get_tag_display()


class RosterImport(models.Model):
    """One upload of a roster file through the web wizard: checked first, then committed.

    The file is kept in the database (not on a node's disk) so any app node or worker can run
    the job; ``report`` holds the preview or the result in the shape of the CLI's ``--json``.
    """

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(_("文件名"), max_length=255)
    data = models.BinaryField(_("文件内容"))
    status = models.CharField(_("状态"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.PREVIEWING)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    report = models.JSONField(_("结果"), default=dict, blank=True)
    error = models.TextField(_("错误"), blank=True)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    # Which run of the job is current: a restart starts attempt n + 1 and a late finish of an
    # older run is ignored. ``worker`` ("host:pid") and ``started_at`` let a run whose process
    # is gone (a restart, a crash) be seen as interrupted (people.import_jobs).
    attempt = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=128, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)

    scope_fields = {"street": "neighbourhood__street_id", "neighbourhood": "neighbourhood_id"}

    class Meta:
        verbose_name = _("名单导入")
        verbose_name_plural = _("名单导入")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 0
        return min(100, round(100 * self.progress_done / self.progress_total))
