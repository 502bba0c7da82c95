from django.db import models
from django.utils.translation import gettext_lazy as _


class BulletinStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")


class NoticeKind(models.TextChoices):
    NOTICE = "notice", _("通知")
    APPEAL = "appeal", _("倡议书")
    OPEN_LETTER = "open_letter", _("公开信")
    POLICY = "policy", _("政策")
    CONVENTION = "convention", _("居民公约")


class Audience(models.TextChoices):
    NEIGHBOURHOOD = "neighbourhood", _("全居民区")
    COMPOUNDS = "compounds", _("指定小区")
    BUILDINGS = "buildings", _("指定楼栋")
