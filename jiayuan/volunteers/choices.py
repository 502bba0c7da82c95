"""Choices of the volunteers app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Skill(models.TextChoices):
    MEDICAL = "medical", _("医护")
    DRIVING = "driving", _("驾驶")
    IT = "it", _("信息技术")
    SIGN_LANGUAGE = "sign_language", _("手语")
    DIALECT = "dialect", _("方言")
    PSYCHOLOGY = "psychology", _("心理疏导")
    OTHER = "other", _("其他")


class VolunteerStatus(models.TextChoices):
    APPLIED = "applied", _("已申请")
    APPROVED = "approved", _("已审核")
    ACTIVE = "active", _("在岗")
    PAUSED = "paused", _("暂停")
    LEFT = "left", _("已退出")


class TeamKind(models.TextChoices):
    TESTING = "testing", _("核酸检测保障")
    PATROL = "patrol", _("巡查")
    DISINFECTION = "disinfection", _("消杀")
    SUPPLIES = "supplies", _("物资配送")
    GATE = "gate", _("门岗")
    BUILDING = "building", _("楼栋服务")
    CARE = "care", _("关爱")
    OTHER = "other", _("其他")


class PlaceKind(models.TextChoices):
    GATE = "gate", _("门岗")
    BUILDING = "building", _("楼栋")
    STATION = "station", _("检测点/站点")
    ROUTE = "route", _("路线")
    OTHER = "other", _("其他")


class AssignmentStatus(models.TextChoices):
    ASSIGNED = "assigned", _("已排班")
    CHECKED_IN = "checked_in", _("已签到")
    DONE = "done", _("已签退")
    NO_SHOW = "no_show", _("未到岗")
    CANCELLED = "cancelled", _("已取消")


class AssignmentSource(models.TextChoices):
    STAFF = "staff", _("工作人员排班")
    LEADER = "leader", _("队长排班")
    CLAIM = "claim", _("本人认领")
