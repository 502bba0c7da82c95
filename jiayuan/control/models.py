"""Epidemic control: cases, contacts, quarantines, health checks, returnees, policies and zones.

Every row carries its ``neighbourhood`` (denormalised) and declares ``scope_fields`` so
``restrict`` can filter it. Cases, quarantines and health checks also carry the ``building``
the resident lived in when the row was written, so the zone engine and the isolation map are
one indexed aggregate each.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiayuan.control.choices import (
    CaseSource,
    CaseStatus,
    CaseType,
    CheckSource,
    ContactKind,
    LabResult,
    QuarantineKind,
    QuarantineReason,
    QuarantineStatus,
    RiskLevel,
    Slot,
    Transport,
    ZoneLevel,
    ZoneUnit,
)
from jiayuan.core.fields import EncryptedTextField
from jiayuan.core.masking import mask_name, mask_phone
from jiayuan.places.models import Building, Compound, Household, Neighbourhood

__all__ = [
    "Case",
    "CaseEvent",
    "Contact",
    "HealthCheck",
    "Quarantine",
    "QuarantinePolicy",
    "QuarantineTest",
    "Returnee",
    "ZoneChange",
    "ZoneOverride",
    "ZoneSettings",
    "ZoneStatus",
]

User = settings.AUTH_USER_MODEL


def _building_scope(path: str = "building"):
    """Scope spec for rows with a nullable building FK: compound level through the building."""
    return {
        "street": "neighbourhood__street_id",
        "neighbourhood": "neighbourhood_id",
        "compound": f"{path}__compound_id",
        "building": f"{path}_id",
    }


class ZoneSettings(models.Model):
    """Zone rules of one neighbourhood: the unit (building or compound) and the day counts."""

    neighbourhood = models.OneToOneField(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.CASCADE, related_name="zone_settings"
    )
    unit = models.CharField(_("分区单位"), max_length=16, choices=ZoneUnit.choices, default=ZoneUnit.BUILDING)
    sealed_days = models.PositiveSmallIntegerField(_("封控天数"), default=7)
    controlled_days = models.PositiveSmallIntegerField(_("管控截止天数"), default=14)
    preset = models.CharField(_("政策预设"), max_length=32, blank=True)
    # What a resident told to stay home is told to call (the household link page shows it).
    hotline = models.CharField(_("居委会联系电话"), max_length=32, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    scope_fields = {"street": "neighbourhood__street_id", "neighbourhood": "neighbourhood_id"}

    class Meta:
        verbose_name = _("分区设置")
        verbose_name_plural = _("分区设置")

    def __str__(self) -> str:
        return f"{self.neighbourhood} {self.get_unit_display()} {self.sealed_days}/{self.controlled_days}"


class QuarantinePolicy(models.Model):
    """What a quarantine for ``reason`` looks like in a neighbourhood: the first stage (kind and
    days), an optional follow-up stage (e.g. 3 days home health monitoring after 7 centralised),
    and the days (1 = first day) on which a negative test is required before release."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.CASCADE, related_name="quarantine_policies"
    )
    reason = models.CharField(_("隔离原因"), max_length=24, choices=QuarantineReason.choices)
    kind = models.CharField(_("隔离方式"), max_length=24, choices=QuarantineKind.choices)
    days = models.PositiveSmallIntegerField(_("天数"))
    followup_kind = models.CharField(_("后续方式"), max_length=24, choices=QuarantineKind.choices, blank=True)
    followup_days = models.PositiveSmallIntegerField(_("后续天数"), default=0)
    test_days = models.JSONField(_("核酸检测日(第几天)"), default=list, blank=True)
    # The household's other present members stay home too (each under the same reason, marked
    # ``via_household``), e.g. while an antigen-positive resident waits for the PCR retest.
    whole_household = models.BooleanField(_("同住人一并居家"), default=False)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    scope_fields = {"street": "neighbourhood__street_id", "neighbourhood": "neighbourhood_id"}

    class Meta:
        verbose_name = _("隔离政策")
        verbose_name_plural = _("隔离政策")
        ordering = ["neighbourhood_id", "reason"]
        constraints = [models.UniqueConstraint(fields=["neighbourhood", "reason"], name="control_policy_unique_reason")]

    def __str__(self) -> str:
        return f"{self.get_reason_display()}: {self.summary}"

    @property
    def total_days(self) -> int:
        return self.days + (self.followup_days if self.followup_kind else 0)

    @property
    def summary(self) -> str:
        text = f"{self.days}天{QuarantineKind(self.kind).label}"
        if self.followup_kind and self.followup_days:
            text += f" + {self.followup_days}天{QuarantineKind(self.followup_kind).label}"
        if self.test_days:
            text += f"(第{'、'.join(str(d) for d in self.test_days)}天核酸阴性)"
        if self.whole_household:
            text += ", 同住人一并居家"
        return text


class Case(models.Model):
    """A positive case (阳性病例) of one resident, with its status history in ``CaseEvent``."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    compound = models.ForeignKey(
        Compound, verbose_name=_("小区"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    household = models.ForeignKey(
        Household, verbose_name=_("住户"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    resident = models.ForeignKey(
        "people.Resident", verbose_name=_("居民"), on_delete=models.PROTECT, related_name="control_cases"
    )
    detected_on = models.DateField(_("检出日期"))
    source = models.CharField(_("来源"), max_length=24, choices=CaseSource.choices)
    type = models.CharField(_("类型"), max_length=16, choices=CaseType.choices, default=CaseType.ASYMPTOMATIC)
    status = models.CharField(_("状态"), max_length=24, choices=CaseStatus.choices, default=CaseStatus.AT_HOME)
    status_on = models.DateField(_("状态日期"))
    ref = models.CharField(_("来源编号"), max_length=100, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    scope_fields = _building_scope()

    class Meta:
        verbose_name = _("阳性病例")
        verbose_name_plural = _("阳性病例")
        ordering = ["-detected_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["resident"],
                condition=~Q(status__in=["released", "voided"]),
                name="control_case_one_open_per_resident",
                violation_error_message=_("该居民已有未解除的病例"),
            )
        ]
        indexes = [
            models.Index(fields=["building", "detected_on"], name="control_case_bld_det_idx"),
            models.Index(fields=["detected_on"], name="control_case_detected_idx"),
            models.Index(fields=["neighbourhood", "status"], name="control_case_nb_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.resident} {self.detected_on}"

    def audit_repr(self) -> str:
        return f"#{self.pk} {mask_name(self.resident.name)} {self.detected_on}"

    @property
    def is_open(self) -> bool:
        return self.status not in (CaseStatus.RELEASED, CaseStatus.VOIDED)

    @property
    def is_voided(self) -> bool:
        return self.status == CaseStatus.VOIDED


class CaseEvent(models.Model):
    """One dated status change of a case (the first row is the registration)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(_("原状态"), max_length=24, choices=CaseStatus.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=24, choices=CaseStatus.choices)
    on = models.DateField(_("日期"))
    note = models.CharField(_("说明"), max_length=200, blank=True)
    actor = models.ForeignKey(User, verbose_name=_("操作人"), on_delete=models.SET_NULL, null=True, blank=True)
    at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("病例状态变更")
        verbose_name_plural = _("病例状态变更")
        ordering = ["case_id", "on", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.from_status}→{self.to_status} {self.on}"


class Contact(models.Model):
    """A close or secondary contact of a case: a resident of the roster or an outsider."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    case = models.ForeignKey(Case, verbose_name=_("病例"), on_delete=models.CASCADE, related_name="contacts")
    kind = models.CharField(_("类别"), max_length=16, choices=ContactKind.choices, default=ContactKind.CLOSE)
    resident = models.ForeignKey(
        "people.Resident",
        verbose_name=_("居民"),
        on_delete=models.PROTECT,
        related_name="control_contacts",
        null=True,
        blank=True,
    )
    name = models.CharField(_("姓名(非本居民区)"), max_length=64, blank=True)
    phone = EncryptedTextField(_("联系电话"), blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    scope_fields = _building_scope()

    class Meta:
        verbose_name = _("密接")
        verbose_name_plural = _("密接")
        ordering = ["case_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "resident"],
                condition=Q(resident__isnull=False),
                name="control_contact_unique_resident",
                violation_error_message=_("该居民已登记为此病例的密接"),
            )
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.resident.name if self.resident_id else self.name

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)

    def audit_repr(self) -> str:
        return f"#{self.pk} {mask_name(self.display_name)}"


class Quarantine(models.Model):
    """One quarantine or health-monitoring period of a person, planned from the policy.

    The policy's stages and test days are copied at creation, so a later policy change does not
    move the release date of people already in quarantine.
    """

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    household = models.ForeignKey(
        Household, verbose_name=_("住户"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    resident = models.ForeignKey(
        "people.Resident",
        verbose_name=_("居民"),
        on_delete=models.PROTECT,
        related_name="control_quarantines",
        null=True,
        blank=True,
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("密接"), on_delete=models.SET_NULL, related_name="quarantines", null=True, blank=True
    )
    kind = models.CharField(_("隔离方式"), max_length=24, choices=QuarantineKind.choices)
    reason = models.CharField(_("原因"), max_length=24, choices=QuarantineReason.choices)
    start_on = models.DateField(_("开始日期"))
    days = models.PositiveSmallIntegerField(_("天数"))
    followup_kind = models.CharField(_("后续方式"), max_length=24, choices=QuarantineKind.choices, blank=True)
    followup_days = models.PositiveSmallIntegerField(_("后续天数"), default=0)
    test_days = models.JSONField(_("核酸检测日(第几天)"), default=list, blank=True)
    planned_end = models.DateField(_("计划解除日期"))
    place = models.CharField(_("隔离地点"), max_length=100, blank=True)
    door_sensor = models.CharField(_("门磁"), max_length=100, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=QuarantineStatus.choices, default=QuarantineStatus.ACTIVE
    )
    ended_on = models.DateField(_("结束日期"), null=True, blank=True)
    early_release = models.BooleanField(_("提前解除"), default=False)
    end_reason = models.CharField(_("结束说明"), max_length=200, blank=True)
    ref = models.CharField(_("来源编号"), max_length=100, blank=True)
    # Not this person's own result: a member of the household is under this control and the
    # policy keeps the whole household home (``QuarantinePolicy.whole_household``).
    via_household = models.BooleanField(_("同住人"), default=False)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    ended_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    scope_fields = _building_scope()

    class Meta:
        verbose_name = _("隔离")
        verbose_name_plural = _("隔离")
        ordering = ["status", "planned_end", "id"]
        constraints = [
            # One active quarantine per resident and reason: the idempotency of quarantine_start
            # holds under concurrent events too.
            models.UniqueConstraint(
                fields=["resident", "reason"],
                condition=Q(status="active", resident__isnull=False),
                name="control_q_one_active_per_reason",
            )
        ]
        indexes = [
            models.Index(fields=["neighbourhood", "status"], name="control_q_nb_status_idx"),
            models.Index(fields=["building", "status"], name="control_q_bld_status_idx"),
            models.Index(fields=["resident", "status"], name="control_q_res_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.person_name} {self.get_kind_display()}"

    def audit_repr(self) -> str:
        return f"#{self.pk} {mask_name(self.person_name)} {self.kind}"

    @property
    def person_name(self) -> str:
        if self.resident_id:
            return self.resident.name
        if self.contact_id:
            return self.contact.display_name
        return ""

    @property
    def first_stage_end(self) -> dt.date:
        return self.start_on + dt.timedelta(days=self.days)

    def kind_on(self, day: dt.date) -> str:
        """The stage a person is in on ``day``: the first kind, then the follow-up kind."""
        if self.followup_kind and day >= self.first_stage_end:
            return self.followup_kind
        return self.kind

    @property
    def current_kind(self) -> str:
        return self.kind_on(timezone.localdate())

    @property
    def current_kind_label(self) -> str:
        return QuarantineKind(self.current_kind).label

    def test_dates(self) -> list[tuple[int, dt.date]]:
        """``(day number, date)`` of each required test; day 1 is the start date."""
        return [(int(n), self.start_on + dt.timedelta(days=int(n) - 1)) for n in self.test_days]

    @property
    def is_active(self) -> bool:
        return self.status == QuarantineStatus.ACTIVE


class QuarantineTest(models.Model):
    """A test result recorded on a quarantine (the release checks the required days)."""

    quarantine = models.ForeignKey(Quarantine, on_delete=models.CASCADE, related_name="tests")
    on = models.DateField(_("检测日期"))
    result = models.CharField(_("结果"), max_length=16, choices=LabResult.choices, default=LabResult.NEGATIVE)
    recorded_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("隔离期核酸")
        verbose_name_plural = _("隔离期核酸")
        ordering = ["quarantine_id", "on"]
        constraints = [models.UniqueConstraint(fields=["quarantine", "on"], name="control_qtest_unique_day")]

    def __str__(self) -> str:
        return f"{self.on} {self.get_result_display()}"


class HealthCheck(models.Model):
    """One temperature check: per (quarantine or resident, date, slot)."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    quarantine = models.ForeignKey(
        Quarantine, on_delete=models.CASCADE, related_name="health_checks", null=True, blank=True
    )
    resident = models.ForeignKey(
        "people.Resident", on_delete=models.PROTECT, related_name="control_health_checks", null=True, blank=True
    )
    on = models.DateField(_("日期"))
    slot = models.CharField(_("时段"), max_length=16, choices=Slot.choices)
    temperature = models.DecimalField(_("体温(°C)"), max_digits=3, decimal_places=1)
    symptoms = models.JSONField(_("症状"), default=list, blank=True)
    symptom_note = models.CharField(_("其他症状"), max_length=200, blank=True)
    door_sensor = models.CharField(_("门磁情况"), max_length=100, blank=True)
    alert = models.BooleanField(_("异常"), default=False)
    source = models.CharField(_("来源"), max_length=16, choices=CheckSource.choices, default=CheckSource.STAFF)
    recorded_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField(_("记录时间"), auto_now=True)

    scope_fields = _building_scope()

    class Meta:
        verbose_name = _("健康监测")
        verbose_name_plural = _("健康监测")
        ordering = ["-on", "slot", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["quarantine", "on", "slot"],
                condition=Q(quarantine__isnull=False),
                name="control_check_unique_quarantine_slot",
            ),
            models.UniqueConstraint(
                fields=["resident", "on", "slot"],
                condition=Q(quarantine__isnull=True),
                name="control_check_unique_resident_slot",
            ),
        ]
        indexes = [
            models.Index(fields=["neighbourhood", "on", "alert"], name="control_check_nb_on_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.on} {self.get_slot_display()} {self.temperature}"

    def audit_repr(self) -> str:
        return f"#{self.pk} {mask_name(self.person_name)} {self.on} {self.slot}"

    @property
    def person_name(self) -> str:
        if self.resident_id:
            return self.resident.name
        return self.quarantine.person_name if self.quarantine_id else ""

    @property
    def symptom_labels(self) -> list[str]:
        from jiayuan.control.choices import Symptom

        labels = [str(Symptom(s).label) for s in self.symptoms if s in Symptom.values]
        if self.symptom_note:
            labels.append(self.symptom_note)
        return labels


class Returnee(models.Model):
    """A resident arriving back (返沪/来沪/境外回沪), with the quarantine their origin calls for."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    resident = models.ForeignKey(
        "people.Resident", verbose_name=_("居民"), on_delete=models.PROTECT, related_name="control_returns"
    )
    origin = models.CharField(_("出发地"), max_length=100)
    origin_risk = models.CharField(_("出发地风险等级"), max_length=16, choices=RiskLevel.choices)
    arrival_on = models.DateField(_("抵达日期"))
    transport = models.CharField(_("交通方式"), max_length=16, choices=Transport.choices)
    transport_detail = models.CharField(_("车次/航班"), max_length=50, blank=True)
    commitment_signed = models.BooleanField(_("已签承诺书"), default=False)
    quarantine = models.OneToOneField(
        Quarantine, verbose_name=_("隔离"), on_delete=models.SET_NULL, null=True, blank=True, related_name="returnee"
    )
    registered_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    scope_fields = _building_scope()

    class Meta:
        verbose_name = _("返沪人员")
        verbose_name_plural = _("返沪人员")
        ordering = ["-arrival_on", "-id"]

    def __str__(self) -> str:
        return f"{self.resident} {self.origin}"

    def audit_repr(self) -> str:
        return f"#{self.pk} {mask_name(self.resident.name)} {self.origin}"


def _zone_scope():
    return {
        "street": "neighbourhood__street_id",
        "neighbourhood": "neighbourhood_id",
        "compound": lambda ids: Q(compound_id__in=ids) | Q(building__compound_id__in=ids),
        "building": lambda ids: (
            Q(building_id__in=ids) | Q(compound_id__in=Building.objects.filter(id__in=ids).values("compound_id"))
        ),
    }


class ZoneStatus(models.Model):
    """The computed level of a building or a compound. No row = precaution zone, never changed.

    The stored ``level`` is the engine's (days since the last positive); an override, when one
    is active, takes precedence at read time (``selectors.zone_levels``).
    """

    # Derived data, rewritten in bulk by the engine (10^5 rows on a city's first run) and always
    # recomputable from the cases: no database-level FK checks (the deferred checks at COMMIT were
    # a third of the full recompute); the ORM still cascades when a place is deleted.
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    building = models.OneToOneField(
        Building, on_delete=models.CASCADE, related_name="zone_status", null=True, blank=True, db_constraint=False
    )
    compound = models.OneToOneField(
        Compound, on_delete=models.CASCADE, related_name="zone_status", null=True, blank=True, db_constraint=False
    )
    level = models.CharField(_("分区等级"), max_length=16, choices=ZoneLevel.choices, default=ZoneLevel.PRECAUTION)
    since = models.DateField(_("起始日期"), null=True, blank=True)
    next_change_on = models.DateField(_("预计降级日期"), null=True, blank=True)
    last_positive_on = models.DateField(_("最近阳性检出日期"), null=True, blank=True)
    computed_at = models.DateTimeField(_("计算时间"))

    scope_fields = _zone_scope()

    class Meta:
        verbose_name = _("分区状态")
        verbose_name_plural = _("分区状态")
        constraints = [
            models.CheckConstraint(
                condition=Q(building__isnull=True, compound__isnull=False)
                | Q(building__isnull=False, compound__isnull=True),
                name="control_zonestatus_one_unit",
            )
        ]
        indexes = [models.Index(fields=["level"], name="control_zone_level_idx")]

    def __str__(self) -> str:
        return f"{self.building_id or self.compound_id} {self.level}"


class ZoneChange(models.Model):
    """History: a building's or compound's level changed (computed or overridden)."""

    # An append-only history written in bulk by the engine (10^5 rows on a city's first run):
    # no database-level FK checks on it (deferred RI triggers would double the write time);
    # the ORM still cascades when a place is deleted.
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    building = models.ForeignKey(
        Building, on_delete=models.CASCADE, related_name="+", null=True, blank=True, db_constraint=False
    )
    compound = models.ForeignKey(
        Compound, on_delete=models.CASCADE, related_name="+", null=True, blank=True, db_constraint=False
    )
    from_level = models.CharField(_("原等级"), max_length=16, choices=ZoneLevel.choices)
    to_level = models.CharField(_("新等级"), max_length=16, choices=ZoneLevel.choices)
    on = models.DateField(_("日期"))
    cause = models.CharField(_("原因"), max_length=200, blank=True)
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_constraint=False
    )
    at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    scope_fields = _zone_scope()

    class Meta:
        verbose_name = _("分区变更")
        verbose_name_plural = _("分区变更")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["building", "at"], name="control_zchange_bld_idx"),
            models.Index(fields=["compound", "at"], name="control_zchange_cmp_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.from_level}→{self.to_level} {self.on}"


class ZoneOverride(models.Model):
    """A committee decision to hold a building or compound at a level until ``expires_at``."""

    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="+")
    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    compound = models.ForeignKey(
        Compound, verbose_name=_("小区"), on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    level = models.CharField(_("分区等级"), max_length=16, choices=ZoneLevel.choices)
    reason = models.CharField(_("原因"), max_length=200)
    starts_at = models.DateTimeField(_("生效时间"), default=timezone.now)
    expires_at = models.DateTimeField(_("到期时间"))
    ended_at = models.DateTimeField(_("撤销/到期处理时间"), null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    scope_fields = _zone_scope()

    class Meta:
        verbose_name = _("分区人工调整")
        verbose_name_plural = _("分区人工调整")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["building", "expires_at"], name="control_zover_bld_idx"),
            models.Index(fields=["compound", "expires_at"], name="control_zover_cmp_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.level} → {self.expires_at:%Y-%m-%d %H:%M}"

    def audit_repr(self) -> str:
        target = f"building#{self.building_id}" if self.building_id else f"compound#{self.compound_id}"
        return f"#{self.pk} {target} {self.level}"

    def is_active(self, now: dt.datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.ended_at is None and self.starts_at <= now < self.expires_at
