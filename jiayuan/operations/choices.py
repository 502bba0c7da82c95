from django.db import models
from django.utils.translation import gettext_lazy as _


class FindingKind(models.TextChoices):
    GATHERING = "gathering", _("人员聚集")
    OUT_OF_SEALED = "out_of_sealed", _("封控楼居民外出")
    OVER_WALL = "over_wall", _("隔墙传递物品")
    DISINFECTION_MISSED = "disinfection_missed", _("消杀未做")
    GARBAGE_OVERFLOW = "garbage_overflow", _("垃圾满溢")
    HAZARD = "hazard", _("安全隐患")
    OTHER = "other", _("其他")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("待分派")
    ASSIGNED = "assigned", _("整改中")
    FIXED = "fixed", _("已整改待验收")
    CHECKED = "checked", _("已验收")


OPEN_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.ASSIGNED)

# Allowed changes: a checker may send a fixed task back (assigned again) instead of checking it.
TASK_TRANSITIONS: dict[str, frozenset[str]] = {
    TaskStatus.OPEN: frozenset({TaskStatus.ASSIGNED}),
    TaskStatus.ASSIGNED: frozenset({TaskStatus.ASSIGNED, TaskStatus.FIXED}),
    TaskStatus.FIXED: frozenset({TaskStatus.CHECKED, TaskStatus.ASSIGNED}),
    TaskStatus.CHECKED: frozenset(),
}


class Assignee(models.TextChoices):
    PROPERTY = "property", _("物业公司")
    COMMITTEE = "committee", _("居委会")
    TEAM = "team", _("志愿者队伍")


class PointKind(models.TextChoices):
    LOBBY = "lobby", _("楼道大堂")
    LIFT = "lift", _("电梯")
    GATE = "gate", _("小区门岗")
    GARBAGE_POINT = "garbage_point", _("垃圾投放点")
    SORTING_AREA = "sorting_area", _("物资分拣区")
    CORRIDOR = "corridor", _("有病例楼栋的楼道")
    OTHER = "other", _("其他")


class GarbageMode(models.TextChoices):
    BIN_POINT = "bin_point", _("定点投放收运")
    DOOR_TO_DOOR = "door_to_door", _("上门收运")


class CaseKind(models.TextChoices):
    GROUP_RENTAL = "group_rental", _("群租")
    HAZARD = "hazard", _("安全隐患")


class CaseStatus(models.TextChoices):
    REPORTED = "reported", _("已举报")
    INSPECTED = "inspected", _("已核查")
    ACTION = "action", _("联合执法中")
    RECTIFIED = "rectified", _("已整改")
    CLOSED = "closed", _("已结案")


CASE_ORDER = [CaseStatus.REPORTED, CaseStatus.INSPECTED, CaseStatus.ACTION, CaseStatus.RECTIFIED, CaseStatus.CLOSED]
