"""Volunteers: the registry, teams by task, shifts and who works them.

Every row carries its ``neighbourhood`` (denormalised) and declares ``scope_fields``. A volunteer
is either a resident (``resident``) or an outsider (``name`` and an encrypted ``phone``);
``building`` is the resident's building, kept so building-level roles see their own people.
Team leaders are memberships with ``is_leader``; their powers come from the membership, not a
role. ``Shift.starts_at``/``ends_at`` are the shift's instants (a shift whose end is not after
its start ends the next day), so overlaps and hours across midnight are plain comparisons. A
shift's ``place_ref`` names a real place of another app ("gate:12", through ``core.extensions``),
``place`` its readable label.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiayuan.core.fields import EncryptedTextField
from jiayuan.core.masking import mask_name, mask_phone
from jiayuan.places.models import Building, Compound, Neighbourhood
from jiayuan.volunteers.choices import (
    AssignmentSource,
    AssignmentStatus,
    PlaceKind,
    Skill,
    TeamKind,
    VolunteerStatus,
)

__all__ = ["Shift", "ShiftAssignment", "Team", "TeamMembership", "Volunteer"]

USER = settings.AUTH_USER_MODEL

# Teams and shifts are the neighbourhood's: building/compound-level roles see their neighbourhood's.
NEIGHBOURHOOD_WIDE = {
    "street": "neighbourhood__street_id",
    "neighbourhood": "neighbourhood_id",
    "compound": lambda ids: Q(neighbourhood_id__in=Compound.objects.filter(id__in=ids).values("neighbourhood_id")),
    "building": lambda ids: Q(neighbourhood_id__in=Building.objects.filter(id__in=ids).values("neighbourhood_id")),
}


class Volunteer(models.Model):
    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    resident = models.ForeignKey(
        "people.Resident",
        verbose_name=_("居民"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="volunteer_records",
    )
    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    user = models.OneToOneField(
        USER,
        verbose_name=_("登录账号"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="volunteer",
    )
    name = models.CharField(_("姓名"), max_length=64)
    phone = EncryptedTextField(_("联系电话"), blank=True)
    phone_hash = models.CharField(max_length=64, blank=True, editable=False)
    phone_last4 = models.CharField(max_length=4, blank=True, editable=False)
    skills = models.JSONField(_("技能"), default=list, blank=True)
    availability = models.CharField(_("可服务时间"), max_length=200, blank=True)
    party_member = models.BooleanField(_("党员"), default=False)
    dual_registration_org = models.CharField(_("双报到单位"), max_length=200, blank=True)
    dual_registration_date = models.DateField(_("双报到日期"), null=True, blank=True)
    commitment_signed_at = models.DateTimeField(_("签署承诺书时间"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=VolunteerStatus.choices, default=VolunteerStatus.APPLIED
    )
    note = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reviewed_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)

    scope_fields = {
        "street": "neighbourhood__street_id",
        "neighbourhood": "neighbourhood_id",
        "compound": "building__compound_id",
        "building": "building_id",
    }

    class Meta:
        verbose_name = _("志愿者")
        verbose_name_plural = _("志愿者")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["neighbourhood", "resident"],
                condition=Q(resident__isnull=False),
                name="volunteer_unique_resident",
                violation_error_message=_("该居民已登记为志愿者"),
            )
        ]
        indexes = [
            models.Index(fields=["neighbourhood", "status"], name="vol_status_idx"),
            models.Index(fields=["phone_hash"], name="vol_phone_hash_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def audit_repr(self) -> str:
        return f"#{self.pk} {mask_name(self.name)}"

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)

    @property
    def is_outsider(self) -> bool:
        return self.resident_id is None

    @property
    def skill_labels(self) -> list[str]:
        return [str(Skill(s).label) for s in self.skills or () if s in Skill.values]


class Team(models.Model):
    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="volunteer_teams"
    )
    name = models.CharField(_("队名"), max_length=64)
    kind = models.CharField(_("任务类别"), max_length=16, choices=TeamKind.choices, default=TeamKind.OTHER)
    requires_antigen_today = models.BooleanField(_("上岗须当日抗原阴性"), default=False)
    description = models.TextField(_("说明"), blank=True)
    active = models.BooleanField(_("启用"), default=True)
    members = models.ManyToManyField(Volunteer, through="TeamMembership", related_name="teams")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    scope_fields = NEIGHBOURHOOD_WIDE

    class Meta:
        verbose_name = _("志愿者队伍")
        verbose_name_plural = _("志愿者队伍")
        ordering = ["neighbourhood_id", "kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["neighbourhood", "name"], name="team_unique_name", violation_error_message=_("已有同名队伍")
            )
        ]

    def __str__(self) -> str:
        return self.name

    def audit_repr(self) -> str:
        return f"#{self.pk} {self.name}"


class TeamMembership(models.Model):
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey(Team, verbose_name=_("队伍"), on_delete=models.CASCADE, related_name="memberships")
    volunteer = models.ForeignKey(
        Volunteer, verbose_name=_("志愿者"), on_delete=models.CASCADE, related_name="memberships"
    )
    is_leader = models.BooleanField(_("队长"), default=False)
    joined_at = models.DateTimeField(_("加入时间"), auto_now_add=True)

    scope_fields = NEIGHBOURHOOD_WIDE

    class Meta:
        verbose_name = _("队员")
        verbose_name_plural = _("队员")
        ordering = ["team_id", "-is_leader", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "volunteer"], name="team_member_unique", violation_error_message=_("已是该队队员")
            )
        ]

    def __str__(self) -> str:
        return f"{self.team} · {self.volunteer}"


class Shift(models.Model):
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey(Team, verbose_name=_("队伍"), on_delete=models.PROTECT, related_name="shifts")
    date = models.DateField(_("日期"))
    start = models.TimeField(_("开始"))
    end = models.TimeField(_("结束"))
    starts_at = models.DateTimeField(editable=False)
    ends_at = models.DateTimeField(editable=False)
    place_kind = models.CharField(_("地点类型"), max_length=16, choices=PlaceKind.choices, default=PlaceKind.OTHER)
    place = models.CharField(_("地点"), max_length=200, blank=True)
    # A real place another app provides (``core.extensions.place_choices``), e.g. "gate:12";
    # ``place`` keeps its label as it read when the shift was made.
    place_ref = models.CharField(_("地点编号"), max_length=64, blank=True, default="")
    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    needed = models.PositiveSmallIntegerField(_("需要人数"), default=1)
    note = models.TextField(_("备注"), blank=True)
    cancelled = models.BooleanField(_("已取消"), default=False)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    scope_fields = NEIGHBOURHOOD_WIDE

    class Meta:
        verbose_name = _("班次")
        verbose_name_plural = _("班次")
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["neighbourhood", "date"], name="shift_day_idx"),
            models.Index(fields=["team", "date"], name="shift_team_day_idx"),
            models.Index(fields=["place_ref", "date"], name="shift_place_day_idx"),
        ]
        constraints = [models.CheckConstraint(condition=Q(needed__gte=1), name="shift_needed_positive")]

    def __str__(self) -> str:
        return f"{self.team} {self.date:%m-%d} {self.start:%H:%M}-{self.end:%H:%M}"

    def save(self, *args, **kwargs):
        self.compute_instants()
        super().save(*args, **kwargs)

    def audit_repr(self) -> str:
        return f"#{self.pk} {self}"

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def compute_instants(self) -> None:
        tz = timezone.get_current_timezone()
        self.starts_at = timezone.make_aware(dt.datetime.combine(self.date, self.start), tz)
        end_day = self.date + dt.timedelta(days=1) if self.crosses_midnight else self.date
        self.ends_at = timezone.make_aware(dt.datetime.combine(end_day, self.end), tz)


# Assignments that hold a place on the shift (and count towards overlaps).
HOLDING = (AssignmentStatus.ASSIGNED, AssignmentStatus.CHECKED_IN, AssignmentStatus.DONE)


class ShiftAssignment(models.Model):
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    shift = models.ForeignKey(Shift, verbose_name=_("班次"), on_delete=models.CASCADE, related_name="assignments")
    volunteer = models.ForeignKey(
        Volunteer, verbose_name=_("志愿者"), on_delete=models.PROTECT, related_name="assignments"
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.ASSIGNED
    )
    source = models.CharField(_("来源"), max_length=8, choices=AssignmentSource.choices, default=AssignmentSource.STAFF)
    assigned_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("排班时间"), auto_now_add=True)
    checked_in_at = models.DateTimeField(_("签到时间"), null=True, blank=True)
    checked_in_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    checked_out_at = models.DateTimeField(_("签退时间"), null=True, blank=True)
    checked_out_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    hours = models.DecimalField(_("服务时长(小时)"), max_digits=6, decimal_places=2, default=Decimal("0"))

    scope_fields = NEIGHBOURHOOD_WIDE

    class Meta:
        verbose_name = _("排班")
        verbose_name_plural = _("排班")
        ordering = ["shift_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shift", "volunteer"], name="assignment_unique", violation_error_message=_("已在该班次")
            ),
            models.CheckConstraint(condition=Q(hours__gte=0), name="assignment_hours_nonnegative"),
        ]
        indexes = [models.Index(fields=["volunteer", "status"], name="assignment_vol_status_idx")]

    def __str__(self) -> str:
        return f"{self.shift} · {self.volunteer}"

    def audit_repr(self) -> str:
        return f"#{self.pk} {mask_name(self.volunteer.name)} @ {self.shift}"
