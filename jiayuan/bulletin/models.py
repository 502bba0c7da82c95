"""The daily bulletin (日报), its public channel, notices and their read receipts."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from jiayuan.bulletin.choices import Audience, BulletinStatus, NoticeKind
from jiayuan.places.models import Building, Compound, Household, Neighbourhood

__all__ = ["Bulletin", "Notice", "NoticeRead", "PublicChannel"]


def _nb_of_buildings(ids):
    return Q(neighbourhood_id__in=Building.objects.filter(id__in=ids).values("neighbourhood_id"))


def _nb_of_compounds(ids):
    return Q(neighbourhood_id__in=Compound.objects.filter(id__in=ids).values("neighbourhood_id"))


# A bulletin or a notice is about the whole neighbourhood: anyone assigned to a part of it sees it.
_BY_NEIGHBOURHOOD = {
    "street": "neighbourhood__street_id",
    "neighbourhood": "neighbourhood_id",
    "compound": _nb_of_compounds,
    "building": _nb_of_buildings,
}


def new_channel_key() -> str:
    return secrets.token_urlsafe(12)


class PublicChannel(models.Model):
    """The neighbourhood's public address for its bulletins and notices: ``/bulletin/p/<key>/``.

    One unguessable key per neighbourhood, created with its first bulletin: the link is shared in
    the residents' WeChat groups and opens without an account; changing the key (a leaked link)
    retires every old link at once."""

    neighbourhood = models.OneToOneField(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.CASCADE, related_name="bulletin_channel"
    )
    key = models.CharField(_("公开链接码"), max_length=32, unique=True, default=new_channel_key)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    scope_fields = _BY_NEIGHBOURHOOD

    class Meta:
        verbose_name = _("日报公开链接")
        verbose_name_plural = _("日报公开链接")

    def __str__(self) -> str:
        return str(self.neighbourhood_id)


class Bulletin(models.Model):
    """One neighbourhood's bulletin for one day: a draft recomposed from the apps' sections until
    it is published; then ``sections`` is frozen (later data changes do not alter it)."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="bulletins"
    )
    date = models.DateField(_("日期"))
    status = models.CharField(_("状态"), max_length=16, choices=BulletinStatus.choices, default=BulletinStatus.DRAFT)
    # [{"key", "title", "text", "figures": [...], "lines": [...]}]: already masked (``rendering``).
    sections = models.JSONField(_("内容"), default=list, blank=True)
    # [{"id", "kind", "kind_label", "title", "audience"}]: the day's notices, frozen with the rest.
    notices = models.JSONField(_("当日通知"), default=list, blank=True)
    note = models.TextField(_("编者按"), blank=True)
    composed_at = models.DateTimeField(_("汇总时间"), null=True, blank=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    scope_fields = _BY_NEIGHBOURHOOD

    class Meta:
        verbose_name = _("日报")
        verbose_name_plural = _("日报")
        ordering = ["-date", "neighbourhood_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["neighbourhood", "date"],
                name="bulletin_unique_day",
                violation_error_message=_("该居民区这一天已有日报"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.neighbourhood_id} {self.date}"

    @property
    def is_published(self) -> bool:
        return self.status == BulletinStatus.PUBLISHED


class Notice(models.Model):
    """A notice, appeal (倡议书), open letter, policy or residents' convention (居民公约, with its
    articles) to the neighbourhood, some compounds or some buildings: shown on the household link
    pages of that audience; with ``requires_ack`` each household's first opening is recorded."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="notices"
    )
    kind = models.CharField(_("类型"), max_length=16, choices=NoticeKind.choices, default=NoticeKind.NOTICE)
    title = models.CharField(_("标题"), max_length=100)
    body = models.TextField(_("正文"), blank=True)
    articles = models.JSONField(_("条款"), default=list, blank=True)
    audience = models.CharField(_("对象"), max_length=16, choices=Audience.choices, default=Audience.NEIGHBOURHOOD)
    compounds = models.ManyToManyField(Compound, verbose_name=_("小区"), blank=True, related_name="+")
    buildings = models.ManyToManyField(Building, verbose_name=_("楼栋"), blank=True, related_name="+")
    requires_ack = models.BooleanField(_("需要回执"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("发布时间"), auto_now_add=True)

    scope_fields = _BY_NEIGHBOURHOOD

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["neighbourhood", "created_at"], name="bulletin_notice_nb_idx")]

    def __str__(self) -> str:
        return self.title


class NoticeRead(models.Model):
    """A household opened a notice (its read receipt); one row per notice and household."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="reads")
    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(_("阅读时间"), auto_now_add=True)

    scope_fields = {
        "street": "household__neighbourhood__street_id",
        "neighbourhood": "household__neighbourhood_id",
        "compound": "household__building__compound_id",
        "building": "household__building_id",
    }

    class Meta:
        verbose_name = _("通知回执")
        verbose_name_plural = _("通知回执")
        constraints = [
            models.UniqueConstraint(
                fields=["notice", "household"], name="bulletin_read_once", violation_error_message=_("已记录回执")
            )
        ]

    def __str__(self) -> str:
        return f"{self.notice_id} {self.household_id}"
