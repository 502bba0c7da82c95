"""Screening: test rounds, stations and the call-down plan, pooled tubes and samples, results,
retests, exemptions and antigen self-reports.

Every row carries its ``neighbourhood`` (and, where it belongs to one, its ``building``) so that
scoping is one indexed filter. The expected set of a round is never materialised: it is the
present residents in the round's scope minus the ``Exemption`` rows, and the missed list is an
anti-join of that set against ``Sample`` on the unique ``(round, resident, is_retest)`` index.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from jiayuan.core.masking import mask_name
from jiayuan.places.models import Building, Neighbourhood
from jiayuan.screening.choices import (
    AntigenResult,
    ImportStatus,
    PoolSize,
    ReportChannel,
    RetestStatus,
    RoundKind,
    RoundStatus,
    SampleKind,
    StationKind,
    TubeResult,
    TubeStatus,
)

__all__ = [
    "AntigenReport",
    "Exemption",
    "PlanSlot",
    "ResultImport",
    "Retest",
    "Round",
    "Sample",
    "Station",
    "Tube",
]


def _nb_of_buildings(ids):
    return Building.objects.filter(id__in=ids).values("neighbourhood_id")


def _nb_of_compounds(ids):
    return Building.objects.filter(compound_id__in=ids).values("neighbourhood_id")


# Per-place rows: the usual four levels through neighbourhood and building.
PLACE_SCOPE = {
    "street": "neighbourhood__street_id",
    "neighbourhood": "neighbourhood_id",
    "compound": "building__compound_id",
    "building": "building_id",
}


# A round's default opening hours, as functions: Django's system check warns of a fixed time default
# (fields.W161) whenever the check runs within seconds of that time of day.
def default_start_time() -> dt.time:
    return dt.time(7, 0)


def default_end_time() -> dt.time:
    return dt.time(11, 0)


class Round(models.Model):
    """One test round (一轮筛查) in one neighbourhood: the whole of it or chosen buildings."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="screening_rounds"
    )
    kind = models.CharField(_("检测类型"), max_length=16, choices=RoundKind.choices, default=RoundKind.PCR)
    date = models.DateField(_("日期"))
    start_time = models.TimeField(_("开始时间"), default=default_start_time)
    end_time = models.TimeField(_("结束时间"), default=default_end_time)
    pool_size = models.PositiveSmallIntegerField(_("混采数"), choices=PoolSize.choices, default=PoolSize.TEN)
    slot_minutes = models.PositiveSmallIntegerField(_("时段长度(分钟)"), default=20)
    whole_neighbourhood = models.BooleanField(_("全居民区"), default=True)
    buildings = models.ManyToManyField(Building, verbose_name=_("楼栋"), blank=True, related_name="+")
    status = models.CharField(_("状态"), max_length=16, choices=RoundStatus.choices, default=RoundStatus.OPEN)
    notes = models.CharField(_("备注"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    # A building leader or volunteer sees the rounds that cover their buildings.
    scope_fields = {
        "street": "neighbourhood__street_id",
        "neighbourhood": "neighbourhood_id",
        "compound": lambda ids: (
            Q(neighbourhood_id__in=_nb_of_compounds(ids))
            & (
                Q(whole_neighbourhood=True)
                | Q(pk__in=Round.buildings.through.objects.filter(building__compound_id__in=ids).values("round_id"))
            )
        ),
        "building": lambda ids: (
            Q(neighbourhood_id__in=_nb_of_buildings(ids))
            & (
                Q(whole_neighbourhood=True)
                | Q(pk__in=Round.buildings.through.objects.filter(building_id__in=ids).values("round_id"))
            )
        ),
    }

    class Meta:
        verbose_name = _("筛查轮次")
        verbose_name_plural = _("筛查轮次")
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["neighbourhood", "date"], name="round_nb_date_idx")]

    def __str__(self) -> str:
        return f"{self.date:%m-%d} {self.get_kind_display()} #{self.pk}"

    def audit_repr(self) -> str:
        return str(self)

    @property
    def is_open(self) -> bool:
        return self.status == RoundStatus.OPEN


class Station(models.Model):
    """A sampling station (采样点) or a door-to-door team (上门采样队) of a round."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="stations")
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("名称"), max_length=64)
    kind = models.CharField(_("类型"), max_length=16, choices=StationKind.choices, default=StationKind.FIXED)
    samplers = models.PositiveSmallIntegerField(_("采样人员数"), default=2)
    swabs_per_hour = models.PositiveSmallIntegerField(_("每人每小时采样数"), default=60)

    scope_fields = {
        "street": "neighbourhood__street_id",
        "neighbourhood": "neighbourhood_id",
        "compound": lambda ids: Q(neighbourhood_id__in=_nb_of_compounds(ids)),
        "building": lambda ids: Q(neighbourhood_id__in=_nb_of_buildings(ids)),
    }

    class Meta:
        verbose_name = _("采样点")
        verbose_name_plural = _("采样点")
        ordering = ["round_id", "kind", "id"]

    def __str__(self) -> str:
        return self.name

    def audit_repr(self) -> str:
        return f"{self.name} ({self.round_id})"

    @property
    def per_hour(self) -> int:
        return self.samplers * self.swabs_per_hour


class PlanSlot(models.Model):
    """One line of the call-down plan: a building (or its homebound residents) at a station."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="plan_slots")
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="plan_slots")
    building = models.ForeignKey(Building, on_delete=models.CASCADE, related_name="+")
    first_slot = models.PositiveSmallIntegerField(default=0)
    last_slot = models.PositiveSmallIntegerField(default=0)
    start = models.TimeField(_("开始"))
    end = models.TimeField(_("结束"))
    people = models.PositiveIntegerField(_("人数"), default=0)
    door_to_door = models.BooleanField(_("上门"), default=False)
    note = models.CharField(_("说明"), max_length=100, blank=True)

    scope_fields = PLACE_SCOPE

    class Meta:
        verbose_name = _("采样安排")
        verbose_name_plural = _("采样安排")
        ordering = ["round_id", "first_slot", "station_id", "id"]

    def __str__(self) -> str:
        return f"{self.building_id}@{self.station_id} {self.start:%H:%M}–{self.end:%H:%M}"


class Tube(models.Model):
    """A sample tube (试管): ``pool_size`` swabs at most, opened and closed by a sampler."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="tubes")
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    barcode = models.CharField(_("试管条码"), max_length=40)
    pool_size = models.PositiveSmallIntegerField(_("混采数"))
    fill_count = models.PositiveSmallIntegerField(_("已采人数"), default=0)
    status = models.CharField(_("状态"), max_length=16, choices=TubeStatus.choices, default=TubeStatus.OPEN)
    is_retest = models.BooleanField(_("单采复核管"), default=False)
    result = models.CharField(_("结果"), max_length=16, choices=TubeResult.choices, default=TubeResult.PENDING)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    opened_at = models.DateTimeField(_("开管时间"), auto_now_add=True)
    closed_at = models.DateTimeField(_("封管时间"), null=True, blank=True)
    result_at = models.DateTimeField(_("出结果时间"), null=True, blank=True)

    scope_fields = {
        "street": "neighbourhood__street_id",
        "neighbourhood": "neighbourhood_id",
    }

    class Meta:
        verbose_name = _("试管")
        verbose_name_plural = _("试管")
        ordering = ["round_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "barcode"], name="tube_unique_barcode", violation_error_message=_("本轮已有该试管")
            ),
            models.CheckConstraint(condition=Q(fill_count__lte=F("pool_size")), name="tube_not_overfilled"),
        ]
        indexes = [models.Index(fields=["round", "result"], name="tube_round_result_idx")]

    def __str__(self) -> str:
        return self.barcode

    def audit_repr(self) -> str:
        return f"{self.barcode} ({self.fill_count}/{self.pool_size})"

    @property
    def is_full(self) -> bool:
        return self.fill_count >= self.pool_size


class SampleQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for obj in objs:
            obj.fill_day()
        return super().bulk_create(objs, *args, **kwargs)


class Sample(models.Model):
    """One swab in one tube. A roster resident has at most one first sample and one individual
    retest sample per round (unique ``(round, resident, is_retest, day)``, ``day`` being the
    round's date, which is also the index the missed list's anti-join uses). People not on the
    roster keep a name and a masked contact.

    ``day`` (the round's date, filled on save and in ``bulk_create``) is the key of the day
    partitions on PostgreSQL (ADR 0015, ``core.partitions``); it is in the unique constraint
    because a partitioned table's unique constraints must hold the partition key."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="samples")
    tube = models.ForeignKey(Tube, on_delete=models.CASCADE, related_name="samples")
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey(Building, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    resident = models.ForeignKey("people.Resident", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    kind = models.CharField(_("人员类型"), max_length=16, choices=SampleKind.choices, default=SampleKind.RESIDENT)
    is_retest = models.BooleanField(_("复核采样"), default=False)
    person_name = models.CharField(_("姓名"), max_length=64, blank=True)
    person_contact = models.CharField(_("联系方式(脱敏)"), max_length=32, blank=True)
    person_contact_hash = models.CharField(max_length=64, blank=True)
    sampled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sampled_at = models.DateTimeField(_("采样时间"), auto_now_add=True)
    day = models.DateField(_("轮次日期"), editable=False)

    objects = SampleQuerySet.as_manager()

    scope_fields = PLACE_SCOPE

    class Meta:
        verbose_name = _("采样记录")
        verbose_name_plural = _("采样记录")
        ordering = ["round_id", "tube_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "resident", "is_retest", "day"],
                name="sample_unique_round_resident",
                violation_error_message=_("该居民本轮已采样"),
            )
        ]
        indexes = [models.Index(fields=["round", "building"], name="sample_round_building_idx")]

    def __str__(self) -> str:
        return f"{self.tube_id}:{self.resident_id or self.person_name}"

    def save(self, *args, **kwargs):
        self.fill_day()
        super().save(*args, **kwargs)

    def fill_day(self) -> None:
        """``day`` from the round (its date), unless set."""
        if self.day is None:
            self.day = self.round.date

    def audit_repr(self) -> str:
        who = f"#{self.resident_id}" if self.resident_id else mask_name(self.person_name)
        return f"{who} → {self.tube_id}"

    @property
    def display_name(self) -> str:
        return self.resident.name if self.resident_id else self.person_name


class Exemption(models.Model):
    """A present resident who need not be tested this round, with the reason (absent residents
    are exempt by their presence status and have no row)."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="exemptions")
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey(Building, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    resident = models.ForeignKey("people.Resident", on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("原因"), max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    scope_fields = PLACE_SCOPE

    class Meta:
        verbose_name = _("免检")
        verbose_name_plural = _("免检")
        constraints = [models.UniqueConstraint(fields=["round", "resident"], name="exemption_unique")]

    def __str__(self) -> str:
        return self.reason

    def audit_repr(self) -> str:
        return f"#{self.resident_id} {self.reason}"


class Retest(models.Model):
    """Someone to re-test individually (单管单采复核), under temporary home control (临时管控) until
    the individual PCR retest comes back negative: a member of a positive pooled tube
    (``sample`` and ``source_tube`` set, in that tube's round), or a resident whose antigen
    self-test was positive (``antigen_report`` set; no round until a sampler swabs them in an
    open round of their neighbourhood, which then becomes ``round``)."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, null=True, blank=True, related_name="retests")
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey(Building, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    resident = models.ForeignKey("people.Resident", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # No foreign keys in the database into the day-partitioned samples and antigen reports
    # (ADR 0015): Django's on_delete still applies; dropping a partition clears these first.
    sample = models.OneToOneField(
        Sample, on_delete=models.CASCADE, null=True, blank=True, related_name="retest", db_constraint=False
    )
    source_tube = models.ForeignKey(Tube, on_delete=models.CASCADE, null=True, blank=True, related_name="retests")
    antigen_report = models.OneToOneField(
        "AntigenReport", on_delete=models.CASCADE, null=True, blank=True, related_name="retest", db_constraint=False
    )
    retest_sample = models.ForeignKey(
        Sample, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_constraint=False
    )
    status = models.CharField(_("状态"), max_length=16, choices=RetestStatus.choices, default=RetestStatus.PENDING)
    home_control = models.BooleanField(_("临时居家管控"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("解除时间"), null=True, blank=True)

    scope_fields = PLACE_SCOPE

    class Meta:
        verbose_name = _("复核")
        verbose_name_plural = _("复核")
        ordering = ["round_id", "building_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sample__isnull=False, source_tube__isnull=False) | Q(antigen_report__isnull=False),
                name="retest_has_a_source",
            )
        ]
        indexes = [models.Index(fields=["neighbourhood", "status"], name="retest_nb_status_idx")]

    def __str__(self) -> str:
        return self.audit_repr()

    def audit_repr(self) -> str:
        source = f"tube {self.source_tube_id}" if self.source_tube_id else f"antigen {self.antigen_report_id}"
        return f"retest #{self.resident_id or '-'} {source}"

    @property
    def display_name(self) -> str:
        if self.resident_id:
            return self.resident.name
        return self.sample.display_name if self.sample_id else ""

    @property
    def source_label(self) -> str:
        """Why this person is retested: the pooled tube's barcode, or the antigen report."""
        if self.antigen_report_id:
            return f"抗原自测阳性 {self.antigen_report.date:%m-%d}"
        return self.source_tube.barcode if self.source_tube_id else ""

    @property
    def awaiting_pcr(self) -> bool:
        return self.status in (RetestStatus.PENDING, RetestStatus.SAMPLED)


class ResultImport(models.Model):
    """A lab results file: checked (preview) first, then committed all or nothing."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="result_imports")
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(_("文件名"), max_length=255)
    data = models.BinaryField(_("文件内容"))
    status = models.CharField(_("状态"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.PREVIEWED)
    report = models.JSONField(_("检查结果"), default=dict, blank=True)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    scope_fields = {"street": "neighbourhood__street_id", "neighbourhood": "neighbourhood_id"}

    class Meta:
        verbose_name = _("结果导入")
        verbose_name_plural = _("结果导入")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename


class AntigenReport(models.Model):
    """One resident's antigen self-test result for one day; re-reporting replaces it.

    On PostgreSQL the table is partitioned by ``date`` (ADR 0015); the unique ``(resident,
    date)`` already holds the partition key."""

    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey(Building, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    resident = models.ForeignKey("people.Resident", on_delete=models.CASCADE, related_name="+")
    date = models.DateField(_("日期"))
    result = models.CharField(_("结果"), max_length=16, choices=AntigenResult.choices)
    photo = models.FileField(_("照片"), upload_to="antigen/%Y/%m/%d/", blank=True)
    channel = models.CharField(_("来源"), max_length=16, choices=ReportChannel.choices, default=ReportChannel.HOUSEHOLD)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # A positive report opens a case only once staff confirm it (or the PCR retest is positive).
    confirmed_at = models.DateTimeField(_("确认阳性时间"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    scope_fields = PLACE_SCOPE

    class Meta:
        verbose_name = _("抗原报告")
        verbose_name_plural = _("抗原报告")
        ordering = ["-date", "building_id", "resident_id"]
        constraints = [models.UniqueConstraint(fields=["resident", "date"], name="antigen_unique_resident_date")]
        indexes = [models.Index(fields=["neighbourhood", "date", "result"], name="antigen_nb_date_idx")]

    def __str__(self) -> str:
        return self.audit_repr()

    def audit_repr(self) -> str:
        return f"#{self.resident_id} {self.date} {self.result}"
