"""Choices of the care app (民呼我应)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    MEDICINE = "medicine", _("代配药")
    MEDICAL_TRIP = "medical_trip", _("就医")
    SHORTAGE = "shortage", _("食品物资短缺")
    ELDERLY_CARE = "elderly_care", _("老人照护")
    REPAIR = "repair", _("维修与水电")
    PSYCHOLOGICAL = "psychological", _("心理支持")
    COMPLAINT = "complaint", _("投诉")
    OTHER = "other", _("其他")


class Urgency(models.TextChoices):
    EMERGENCY = "emergency", _("紧急")
    TODAY = "today", _("今天内")
    ROUTINE = "routine", _("一般")


class Priority(models.TextChoices):
    HIGH = "high", _("高")
    NORMAL = "normal", _("中")
    LOW = "low", _("低")


class Status(models.TextChoices):
    NEW = "new", _("待受理")
    ACCEPTED = "accepted", _("已受理")
    IN_PROGRESS = "in_progress", _("办理中")
    DONE = "done", _("已办结")
    CONFIRMED = "confirmed", _("居民已确认")
    REOPENED = "reopened", _("已重新打开")
    CANCELLED = "cancelled", _("已撤销")


OPEN_STATUSES = (Status.NEW, Status.ACCEPTED, Status.IN_PROGRESS, Status.REOPENED)

# Which step may follow which; "done" is confirmed or reopened by the household (or staff for it).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.NEW: (Status.ACCEPTED, Status.CANCELLED),
    Status.ACCEPTED: (Status.IN_PROGRESS, Status.DONE, Status.CANCELLED),
    Status.IN_PROGRESS: (Status.DONE, Status.CANCELLED),
    Status.DONE: (Status.CONFIRMED, Status.REOPENED),
    Status.REOPENED: (Status.ACCEPTED, Status.IN_PROGRESS, Status.DONE, Status.CANCELLED),
    Status.CONFIRMED: (),
    Status.CANCELLED: (),
}


class Source(models.TextChoices):
    LINK = "link", _("住户链接")
    PHONE = "phone", _("电话登记")
    LEADER = "leader", _("楼组长代登记")
    STAFF = "staff", _("工作人员登记")
    VISIT = "visit", _("走访发现")
    API = "api", _("接口")


class HandedOver(models.TextChoices):
    NONE = "none", _("无")
    PRESCRIPTION = "prescription", _("处方")
    INSURANCE_CARD = "insurance_card", _("医保卡")
    BOTH = "both", _("处方和医保卡")


class RunStatus(models.TextChoices):
    PLANNED = "planned", _("待出发")
    DONE = "done", _("已送达")


class TreatmentKind(models.TextChoices):
    DIALYSIS = "dialysis", _("透析")
    CHEMOTHERAPY = "chemotherapy", _("化疗")
    OTHER = "other", _("其他定期治疗")


class EmergencyOutcome(models.TextChoices):
    PENDING = "pending", _("等待结果")
    HOSPITALISED = "hospitalised", _("已住院")
    TREATED_HOME = "treated_home", _("治疗后返回")
    TRANSFERRED = "transferred", _("转院")
    DECEASED = "deceased", _("不幸离世")
    CANCELLED = "cancelled", _("取消呼叫")


class VisitMode(models.TextChoices):
    PHONE = "phone", _("电话")
    DOOR = "door", _("上门")


class VisitFinding(models.TextChoices):
    OK = "ok", _("一切正常")
    MEALS = "meals", _("需要送餐")
    MEDICINE = "medicine", _("需要配药")
    GROCERIES = "groceries", _("需要买菜")
    UNWELL = "unwell", _("身体不适")
    NO_ANSWER = "no_answer", _("无人应答")


class GroupRole(models.TextChoices):
    PARTY_MEMBER = "party_member", _("党员")
    PROFESSIONAL = "professional", _("专业人员")
    VOLUNTEER = "volunteer", _("志愿者")


# Resident tags that raise a request's priority, and tags whose residents get visits.
PRIORITY_TAGS = ("dialysis", "pregnant", "bedridden", "elderly_alone", "elderly_no_family")
VISIT_TAGS = ("elderly_alone", "elderly_no_family", "disabled", "bedridden")
