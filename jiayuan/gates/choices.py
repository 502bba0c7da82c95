"""Choices of the gates app (labels translated, Chinese first)."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

# A temperature at or above this is a fever: the passage is refused and the committee alerted.
FEVER_THRESHOLD = Decimal("37.3")


class GateState(models.TextChoices):
    OPEN = "open", _("开放")
    CLOSED = "closed", _("关闭")
    RESTRICTED = "restricted", _("限制通行")


class Restriction(models.TextChoices):
    """What a restricted gate still lets through."""

    HOURS = "hours", _("限时开放")
    RESIDENTS_ONLY = "residents_only", _("仅限本小区居民")
    VEHICLES_ONLY = "vehicles_only", _("仅限车辆")


class Direction(models.TextChoices):
    IN = "in", _("进")
    OUT = "out", _("出")


class Subject(models.TextChoices):
    RESIDENT = "resident", _("居民")
    VISITOR = "visitor", _("访客")
    VEHICLE = "vehicle", _("车辆")


class Reason(models.TextChoices):
    """Why a passage was refused (the API's ``reason``)."""

    SEALED = "sealed", _("封控区")
    CONTROLLED = "controlled", _("管控区")
    QUARANTINE = "quarantine", _("隔离或居家管控")
    FEVER = "fever", _("发热")
    PASS_QUOTA = "pass_quota", _("通行证次数已用完")
    PASS_EXPIRED = "pass_expired", _("通行证无效或已过期")
    GATE_CLOSED = "gate_closed", _("门岗关闭")


class VehiclePurpose(models.TextChoices):
    SUPPLIES = "supplies", _("保供物资")
    MEDICAL = "medical", _("医疗急救")
    GARBAGE = "garbage", _("垃圾清运")
    OFFICIAL = "official", _("公务")
    OTHER = "other", _("其他")


class PassKind(models.TextChoices):
    SHOPPING = "shopping", _("外出采购")
    WORK = "work", _("上班(凭单位证明)")
    MEDICAL = "medical", _("就医")


class ParcelStatus(models.TextChoices):
    ARRIVED = "arrived", _("待消杀")
    DISINFECTED = "disinfected", _("已消杀, 待取/待送")
    DELIVERED = "delivered", _("已送到门口")
    PICKED_UP = "picked_up", _("已自取")


PARCEL_WAITING = (ParcelStatus.ARRIVED, ParcelStatus.DISINFECTED)
