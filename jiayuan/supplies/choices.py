from django.db import models
from django.utils.translation import gettext_lazy as _


class LeaderStatus(models.TextChoices):
    PENDING = "pending", _("待审核")
    APPROVED = "approved", _("已通过")
    REJECTED = "rejected", _("未通过")
    SUSPENDED = "suspended", _("已暂停(证件过期)")


class DocumentKind(models.TextChoices):
    PERMIT = "permit", _("防疫物资许可/保供证明")
    LICENCE = "licence", _("食品经营许可证")


class Category(models.TextChoices):
    VEGETABLES = "vegetables", _("蔬菜")
    MEAT = "meat", _("肉类")
    EGGS_MILK = "eggs_milk", _("蛋奶")
    RICE_OIL = "rice_oil", _("米面粮油")
    DAILY = "daily", _("日用品")
    OTHER = "other", _("其他")


class GroupBuyStatus(models.TextChoices):
    PROPOSED = "proposed", _("待比选")
    SELECTED = "selected", _("已选定")
    OPEN = "open", _("接龙中")
    CLOSED = "closed", _("已截单")
    ARRIVED = "arrived", _("已到货放行")
    DISINFECTED = "disinfected", _("已消杀静置")
    SORTED = "sorted", _("已分拣")
    DELIVERED = "delivered", _("已送达")
    NOT_SELECTED = "not_selected", _("未选中")
    REJECTED = "rejected", _("已驳回")
    CANCELLED = "cancelled", _("已取消")


# Shown instead of "disinfected" once the rest time is over (a computed state, not stored).
READY = "ready"
READY_LABEL = _("静置完成可分拣")


class SelectionMode(models.TextChoices):
    VOTE = "vote", _("居民投票")
    COMMITTEE = "committee", _("居委/业委会选定")


class DeliveryMode(models.TextChoices):
    DOOR = "door", _("送货上门")
    PICKUP = "pickup", _("自提")


class OrderStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    CANCELLED = "cancelled", _("已取消")


class IssueKind(models.TextChoices):
    COMPLAINT = "complaint", _("投诉")
    REFUND = "refund", _("退款")


class HandoutUnit(models.TextChoices):
    HOUSEHOLD = "household", _("每户一份")
    PERSON = "person", _("每人一份")


class MovementKind(models.TextChoices):
    DONATION = "donation", _("捐赠入库")
    ISSUE = "issue", _("发放出库")
    ADJUST = "adjust", _("盘点调整")


class BookingMode(models.TextChoices):
    PICKUP = "pickup", _("本人领取")
    PROXY = "proxy", _("代购代领")
