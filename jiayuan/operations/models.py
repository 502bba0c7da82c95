"""Daily operations: patrol runs and their findings, follow-up tasks, disinfection points and
rounds, garbage rounds per building per day, hazard and group-rental (群租) cases.

Every row carries its ``neighbourhood`` (denormalised) and declares ``scope_fields``: rows of a
building (tasks about a building, garbage rounds, cases at a household) are seen by that
building's leader; neighbourhood-wide rows (settings, patrol runs) by everyone of the
neighbourhood who may see operations.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiayuan.operations.choices import (
    OPEN_TASK_STATUSES,
    Assignee,
    CaseKind,
    CaseStatus,
    FindingKind,
    GarbageMode,
    PointKind,
    TaskStatus,
)
from jiayuan.places.models import Building, Compound, Household, Neighbourhood
from jiayuan.supplies.models import NEIGHBOURHOOD_WIDE, PER_BUILDING

USER = settings.AUTH_USER_MODEL


# The settings' default times, as functions: Django's system check warns of a fixed time default
# (fields.W161) whenever the check runs within seconds of that time of day, which failed
# ``check --deploy`` at 10:00 UTC.
def default_day_start() -> dt.time:
    return dt.time(6, 0)


def default_day_end() -> dt.time:
    return dt.time(22, 0)


def default_garbage_by() -> dt.time:
    return dt.time(10, 0)


class OperationsSettings(models.Model):
    """Per-neighbourhood rules: how often a place is disinfected at each zone level (every N hours
    of the working day), by when the day's garbage must be collected, how long a task may take."""

    neighbourhood = models.OneToOneField(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.CASCADE, related_name="operations_settings"
    )
    day_start = models.TimeField(_("消杀工作开始时间"), default=default_day_start)
    day_end = models.TimeField(_("消杀工作结束时间"), default=default_day_end)
    sealed_hours = models.PositiveSmallIntegerField(_("封控区每隔几小时消杀一次"), default=4)
    controlled_hours = models.PositiveSmallIntegerField(_("管控区每隔几小时消杀一次"), default=8)
    precaution_hours = models.PositiveSmallIntegerField(_("防范区每隔几小时消杀一次"), default=16)
    garbage_by = models.TimeField(_("垃圾清运截止时间"), default=default_garbage_by)
    task_hours = models.PositiveSmallIntegerField(_("整改时限(小时)"), default=24)

    scope_fields = NEIGHBOURHOOD_WIDE

    class Meta:
        verbose_name = _("巡查消杀设置")
        verbose_name_plural = _("巡查消杀设置")
        constraints = [
            models.CheckConstraint(
                condition=Q(sealed_hours__gte=1, controlled_hours__gte=1, precaution_hours__gte=1, task_hours__gte=1),
                name="operations_settings_positive_hours",
            ),
            models.CheckConstraint(condition=Q(day_end__gt=models.F("day_start")), name="operations_settings_day"),
        ]

    def __str__(self) -> str:
        return f"{self.neighbourhood} {self._meta.verbose_name}"


class PatrolRun(models.Model):
    """One patrol: a team (optional), a route or area, from when to when, who walked it."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    team = models.ForeignKey(
        "volunteers.Team", verbose_name=_("队伍"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    route = models.CharField(_("路线或区域"), max_length=200)
    members = models.CharField(_("巡查人员"), max_length=200, blank=True)
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    scope_fields = NEIGHBOURHOOD_WIDE

    class Meta:
        verbose_name = _("巡查")
        verbose_name_plural = _("巡查")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.route} {timezone.localtime(self.started_at):%m-%d %H:%M}"

    def audit_repr(self) -> str:
        return f"#{self.pk} {self.route}"


# A task or finding without a building is the neighbourhood's (a gate, the sorting area): the
# committee and the property company see it; a building leader sees their buildings' only.
BY_BUILDING = PER_BUILDING


class Finding(models.Model):
    """What a patrol saw: kind, where, an optional photo and a note."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    run = models.ForeignKey(
        PatrolRun, verbose_name=_("巡查"), on_delete=models.PROTECT, null=True, blank=True, related_name="findings"
    )
    kind = models.CharField(_("类别"), max_length=24, choices=FindingKind.choices)
    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    place = models.CharField(_("地点"), max_length=200)
    note = models.TextField(_("情况说明"), blank=True)
    photo = models.FileField(_("照片"), upload_to="operations/findings/%Y/%m/%d/", blank=True)
    reported_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("发现时间"), default=timezone.now)

    scope_fields = BY_BUILDING

    class Meta:
        verbose_name = _("巡查发现")
        verbose_name_plural = _("巡查发现")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["neighbourhood", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.place}"

    def audit_repr(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.place}"[:200]


class Task(models.Model):
    """The follow-up of a finding: open → assigned (property company, committee or a team) →
    fixed → checked; a checker may send a fix back (assigned again). Overdue: past ``due_at``
    and not fixed yet."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    finding = models.OneToOneField(Finding, verbose_name=_("巡查发现"), on_delete=models.PROTECT, related_name="task")
    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    title = models.CharField(_("事项"), max_length=200)
    status = models.CharField(_("状态"), max_length=16, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    assignee = models.CharField(_("责任方"), max_length=16, choices=Assignee.choices, blank=True)
    team = models.ForeignKey(
        "volunteers.Team", verbose_name=_("队伍"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    due_at = models.DateTimeField(_("整改时限"))
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    assigned_at = models.DateTimeField(_("分派时间"), null=True, blank=True)
    fixed_at = models.DateTimeField(_("整改时间"), null=True, blank=True)
    fixed_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    checked_at = models.DateTimeField(_("验收时间"), null=True, blank=True)
    checked_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    note = models.TextField(_("最新说明"), blank=True)
    returned = models.PositiveSmallIntegerField(_("退回次数"), default=0)

    scope_fields = BY_BUILDING

    class Meta:
        verbose_name = _("整改任务")
        verbose_name_plural = _("整改任务")
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["neighbourhood", "status", "due_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="assigned") | ~Q(assignee=""), name="operations_task_assigned_has_assignee"
            ),
            models.CheckConstraint(
                condition=Q(assignee="team", team__isnull=False) | (~Q(assignee="team") & Q(team__isnull=True)),
                name="operations_task_team_iff_team",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def audit_repr(self) -> str:
        return f"#{self.pk} {self.title}"[:200]

    @property
    def is_overdue(self) -> bool:
        return self.status in OPEN_TASK_STATUSES and self.due_at < timezone.now()

    @property
    def assignee_label(self) -> str:
        if self.assignee == Assignee.TEAM and self.team_id:
            return self.team.name
        return self.get_assignee_display() if self.assignee else ""


def _points_of_buildings(ids) -> Q:
    """A building's own points, and the shared points (gates, garbage points) of its compound."""
    return Q(building_id__in=ids) | Q(
        building__isnull=True, compound_id__in=Building.objects.filter(id__in=ids).values("compound_id")
    )


class DisinfectionPoint(models.Model):
    """A place disinfected on a schedule: a building's lobby or lift, or a compound's gate,
    garbage point or sorting area. How often depends on the zone level of its building (its
    compound's highest level for shared places) and the neighbourhood's settings."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(_("类别"), max_length=16, choices=PointKind.choices)
    name = models.CharField(_("名称"), max_length=100)
    active = models.BooleanField(_("启用"), default=True)

    scope_fields = {
        "street": "neighbourhood__street_id",
        "neighbourhood": "neighbourhood_id",
        "compound": "compound_id",
        "building": _points_of_buildings,
    }

    class Meta:
        verbose_name = _("消杀点位")
        verbose_name_plural = _("消杀点位")
        ordering = ["compound_id", "building__sort_key", "kind", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["compound", "name"],
                name="operations_point_unique_name",
                violation_error_message=_("已有同名点位"),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def audit_repr(self) -> str:
        return f"#{self.pk} {self.name}"


class DisinfectionRound(models.Model):
    """One disinfection of a point: when, who, which agent (optional)."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    point = models.ForeignKey(
        DisinfectionPoint, verbose_name=_("点位"), on_delete=models.PROTECT, related_name="rounds"
    )
    done_at = models.DateTimeField(_("消杀时间"), default=timezone.now)
    done_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    worker = models.CharField(_("消杀人员"), max_length=64, blank=True)
    agent = models.CharField(_("消毒剂"), max_length=100, blank=True)

    scope_fields = {
        "street": "neighbourhood__street_id",
        "neighbourhood": "neighbourhood_id",
        "compound": "point__compound_id",
        "building": lambda ids: Q(point__in=DisinfectionPoint.objects.filter(_points_of_buildings(ids))),
    }

    class Meta:
        verbose_name = _("消杀记录")
        verbose_name_plural = _("消杀记录")
        ordering = ["-done_at", "-id"]
        indexes = [models.Index(fields=["point", "done_at"]), models.Index(fields=["neighbourhood", "done_at"])]

    def __str__(self) -> str:
        return f"{self.point} {timezone.localtime(self.done_at):%m-%d %H:%M}"

    def audit_repr(self) -> str:
        return f"#{self.pk} {self}"


class GarbageRound(models.Model):
    """A building's garbage collected on a day: at the bin point, or door to door (sealed
    buildings, quarantined households); bags of positive households collected separately."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    building = models.ForeignKey(Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("日期"))
    mode = models.CharField(_("收运方式"), max_length=16, choices=GarbageMode.choices)
    door_households = models.PositiveIntegerField(_("上门收运户数"), default=0)
    separate_households = models.PositiveIntegerField(_("阳性户单独收运户数"), default=0)
    bags = models.PositiveIntegerField(_("袋数"), null=True, blank=True)
    done_at = models.DateTimeField(_("清运时间"), default=timezone.now)
    done_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    worker = models.CharField(_("清运人员"), max_length=64, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)

    scope_fields = PER_BUILDING

    class Meta:
        verbose_name = _("垃圾清运")
        verbose_name_plural = _("垃圾清运")
        ordering = ["-day", "building_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["building", "day"],
                name="operations_garbage_one_per_day",
                violation_error_message=_("该楼栋今天的垃圾清运已登记"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.building} {self.day}"

    def audit_repr(self) -> str:
        return f"#{self.pk} {self.building.name} {self.day}"


class RentalCase(models.Model):
    """A hazard or group-rental (群租) case at a household: reported → inspected (beds,
    occupants) → action (joint enforcement with the street and police) → rectified (beds
    removed, occupants moved out or registered) → closed."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    household = models.ForeignKey(Household, verbose_name=_("住户"), on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey(Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("类别"), max_length=16, choices=CaseKind.choices, default=CaseKind.GROUP_RENTAL)
    status = models.CharField(_("状态"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.REPORTED)
    reported_by = models.CharField(_("举报人"), max_length=100, blank=True)
    description = models.TextField(_("情况"), blank=True)
    beds = models.PositiveSmallIntegerField(_("床位数"), null=True, blank=True)
    occupants = models.PositiveSmallIntegerField(_("居住人数"), null=True, blank=True)
    action_note = models.TextField(_("处置措施"), blank=True)
    beds_removed = models.PositiveSmallIntegerField(_("拆除床位"), default=0)
    moved_out = models.PositiveSmallIntegerField(_("搬离人数"), default=0)
    registered = models.PositiveSmallIntegerField(_("登记为居民人数"), default=0)
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    scope_fields = PER_BUILDING

    class Meta:
        verbose_name = _("隐患与群租")
        verbose_name_plural = _("隐患与群租")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.household}"

    def audit_repr(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.building.name}"
