from django.db import models
from django.utils.translation import gettext_lazy as _


class RoundKind(models.TextChoices):
    PCR = "pcr", _("核酸检测")
    ANTIGEN = "antigen", _("抗原检测")


class RoundStatus(models.TextChoices):
    OPEN = "open", _("进行中")
    FINISHED = "finished", _("已结束")


class PoolSize(models.IntegerChoices):
    SINGLE = 1, _("单管单采")
    FIVE = 5, _("5混1")
    TEN = 10, _("10混1")
    TWENTY = 20, _("20混1")


class StationKind(models.TextChoices):
    FIXED = "fixed", _("固定采样点")
    DOOR = "door", _("上门采样队")


class TubeStatus(models.TextChoices):
    OPEN = "open", _("采样中")
    CLOSED = "closed", _("已封管")


class TubeResult(models.TextChoices):
    PENDING = "pending", _("待出结果")
    NEGATIVE = "negative", _("阴性")
    POSITIVE = "positive", _("阳性")


class SampleKind(models.TextChoices):
    RESIDENT = "resident", _("居民")
    VISITOR = "visitor", _("访客")
    WORKER = "worker", _("工作人员")


class RetestStatus(models.TextChoices):
    PENDING = "pending", _("待复核")
    SAMPLED = "sampled", _("已复采")
    NEGATIVE = "negative", _("复核阴性")
    POSITIVE = "positive", _("复核阳性")
    CONFIRMED = "confirmed", _("工作人员确认阳性")


class AntigenResult(models.TextChoices):
    NEGATIVE = "negative", _("阴性")
    POSITIVE = "positive", _("阳性")
    INVALID = "invalid", _("无效")


class ReportChannel(models.TextChoices):
    HOUSEHOLD = "household", _("住户自报")
    STAFF = "staff", _("代报")
    API = "api", _("接口")


class ImportStatus(models.TextChoices):
    PREVIEWED = "previewed", _("检查完成")
    COMMITTED = "committed", _("已导入")
    FAILED = "failed", _("有错误")


# Tags whose residents are sampled at home by a door-to-door team.
DOOR_TO_DOOR_TAGS = ("bedridden", "disabled", "elderly_alone")
