"""Gates: gate posts and their state history, passes, the passage log and parcels.

Every row carries its ``neighbourhood`` (denormalised) and declares ``scope_fields`` so
``restrict`` filters it in one indexed condition. A guard is assigned to a compound: gates,
passages and parcels carry the compound too.

``GatePassage`` is append-only (insert only, never updated): it has the ``day`` column the
day-partitioning of append-only tables keys on, and no other table points at it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from jiayuan.core.fields import EncryptedTextField
from jiayuan.core.masking import mask_name, mask_phone
from jiayuan.gates.choices import (
    Direction,
    GateState,
    ParcelStatus,
    PassKind,
    Reason,
    Restriction,
    Subject,
    VehiclePurpose,
)
from jiayuan.places.models import Building, Compound, Household, Neighbourhood

__all__ = ["Gate", "GatePassage", "GateSettings", "GateStateChange", "Parcel", "Pass"]

User = settings.AUTH_USER_MODEL


def _compound_scope(path: str = "compound"):
    """Rows that belong to a compound: a building-level grant reaches its compound's rows."""
    return {
        "street": "neighbourhood__street_id",
        "neighbourhood": "neighbourhood_id",
        "compound": f"{path}_id",
        "building": lambda ids: Q(
            **{f"{path}_id__in": Building.objects.filter(id__in=ids).values("compound_id")},
        ),
    }


def _household_scope():
    return {
        "street": "neighbourhood__street_id",
        "neighbourhood": "neighbourhood_id",
        "compound": "building__compound_id",
        "building": "building_id",
    }


class GateSettings(models.Model):
    """How the gates of one neighbourhood apply the rules (no row: the defaults)."""

    neighbourhood = models.OneToOneField(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.CASCADE, related_name="gate_settings"
    )
    # 2022: 管控区 "人不出小区"; a committee may let controlled buildings' residents out.
    controlled_may_go_out = models.BooleanField(_("管控区居民可以外出"), default=False)
    # 2020 Minhang: one person per household out every few days, only with a pass.
    pass_required = models.BooleanField(_("外出须凭通行证"), default=False)
    presence_follows = models.BooleanField(_("在住状态随出入变化(多日外出→外出, 返回→在住)"), default=True)
    parcel_overdue_hours = models.PositiveSmallIntegerField(_("快递滞留提醒(小时)"), default=12)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    scope_fields = {"street": "neighbourhood__street_id", "neighbourhood": "neighbourhood_id"}

    class Meta:
        verbose_name = _("门岗设置")
        verbose_name_plural = _("门岗设置")

    def __str__(self) -> str:
        return f"{self.neighbourhood} {self._meta.verbose_name}"


class Gate(models.Model):
    """A gate post (门岗 / 出入口 / 卡点) of a compound: open, closed or restricted."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.PROTECT, related_name="gates")
    name = models.CharField(_("名称"), max_length=64)
    state = models.CharField(_("状态"), max_length=16, choices=GateState.choices, default=GateState.OPEN)
    restriction = models.CharField(_("限制方式"), max_length=16, choices=Restriction.choices, blank=True)
    open_from = models.TimeField(_("开放时间从"), null=True, blank=True)
    open_to = models.TimeField(_("开放时间到"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    scope_fields = _compound_scope()

    class Meta:
        verbose_name = _("门岗")
        verbose_name_plural = _("门岗")
        ordering = ["compound_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["compound", "name"], name="gate_unique_name", violation_error_message=_("本小区已有同名门岗")
            )
        ]

    def __str__(self) -> str:
        return self.name

    def audit_repr(self) -> str:
        return f"#{self.pk} {self.name}"

    @property
    def state_text(self) -> str:
        """``限制通行 · 仅限车辆`` / ``限制通行 · 07:00–19:00``."""
        text = str(self.get_state_display())
        if self.state == GateState.RESTRICTED and self.restriction:
            if self.restriction == Restriction.HOURS and self.open_from and self.open_to:
                return f"{text} · {self.open_from:%H:%M}–{self.open_to:%H:%M}"
            return f"{text} · {self.get_restriction_display()}"
        return text


class GateStateChange(models.Model):
    """One change of a gate's state (the history the committee checks)."""

    gate = models.ForeignKey(Gate, verbose_name=_("门岗"), on_delete=models.CASCADE, related_name="changes")
    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.PROTECT, related_name="+")
    state = models.CharField(_("状态"), max_length=16, choices=GateState.choices)
    restriction = models.CharField(_("限制方式"), max_length=16, choices=Restriction.choices, blank=True)
    open_from = models.TimeField(_("开放时间从"), null=True, blank=True)
    open_to = models.TimeField(_("开放时间到"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    scope_fields = _compound_scope()

    class Meta:
        verbose_name = _("门岗状态变更")
        verbose_name_plural = _("门岗状态变更")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.gate} {self.get_state_display()}"


class Pass(models.Model):
    """A pass (通行证) of a household or of one of its residents: ``quota`` exits per
    ``period_days`` days between ``valid_from`` and ``valid_to``.

    The current period's count is kept on the row (``period_start``, ``period_uses``) and
    changed under a row lock, so two guards scanning the same pass at once cannot both take the
    last exit.
    """

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    building = models.ForeignKey(Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey(Household, verbose_name=_("住户"), on_delete=models.CASCADE, related_name="+")
    resident = models.ForeignKey(
        "people.Resident", verbose_name=_("持证人"), on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(_("类型"), max_length=16, choices=PassKind.choices, default=PassKind.SHOPPING)
    employer = models.CharField(_("单位及证明"), max_length=200, blank=True)
    valid_from = models.DateField(_("有效期从"))
    valid_to = models.DateField(_("有效期到"))
    quota = models.PositiveSmallIntegerField(_("每期外出次数"), default=1)
    period_days = models.PositiveSmallIntegerField(_("每期天数"), default=2)
    code = models.CharField(_("通行证编号"), max_length=16, unique=True)
    period_start = models.DateField(_("本期开始"), null=True, blank=True)
    period_uses = models.PositiveSmallIntegerField(_("本期已用"), default=0)
    revoked_at = models.DateTimeField(_("作废时间"), null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("发放时间"), auto_now_add=True)

    scope_fields = _household_scope()

    class Meta:
        verbose_name = _("通行证")
        verbose_name_plural = _("通行证")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["household", "valid_to"], name="gates_pass_household_idx")]

    def __str__(self) -> str:
        return self.code

    def audit_repr(self) -> str:
        return f"#{self.pk} {self.code}"


class GatePassage(models.Model):
    """One passage through a gate, allowed or refused (a refused one is recorded too).

    Insert only. Who passed: a resident (by their sampling code or a pass), a visitor (name and
    phone, the phone encrypted, for a host household) or a vehicle (plate and purpose).

    Its references are not database constraints (``db_constraint=False``, ADR 0023): a passage is
    written from the rows its scan has just read, and at a morning peak each constraint cost a
    lookup with a share lock on the gate, compound, building … rows that every guard's scan
    touches. Django still applies ``on_delete`` (PROTECT, CASCADE, SET_NULL) through the ORM, from
    the indexes below; the neighbourhood, gate and household are indexed by the composite indexes
    they lead.
    """

    neighbourhood = models.ForeignKey(
        Neighbourhood,
        verbose_name=_("居民区"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    compound = models.ForeignKey(
        Compound, verbose_name=_("小区"), on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    gate = models.ForeignKey(
        Gate, verbose_name=_("门岗"), on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    day = models.DateField(_("日期"))
    at = models.DateTimeField(_("时间"))
    direction = models.CharField(_("方向"), max_length=3, choices=Direction.choices)
    subject = models.CharField(_("通行人"), max_length=8, choices=Subject.choices)
    allowed = models.BooleanField(_("放行"))
    reason = models.CharField(_("拒绝原因"), max_length=16, choices=Reason.choices, blank=True)
    # What the guard's screen said (a retried scan is answered with it).
    message = models.CharField(_("提示"), max_length=200, blank=True)
    temperature = models.DecimalField(_("体温"), max_digits=3, decimal_places=1, null=True, blank=True)
    resident = models.ForeignKey(
        "people.Resident",
        verbose_name=_("居民"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    # The resident's household, or the visitor's host household.
    household = models.ForeignKey(
        Household,
        verbose_name=_("住户"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    building = models.ForeignKey(
        Building,
        verbose_name=_("楼栋"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    used_pass = models.ForeignKey(
        Pass,
        verbose_name=_("通行证"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    visitor_name = models.CharField(_("访客姓名"), max_length=64, blank=True)
    visitor_phone = EncryptedTextField(_("访客电话"), blank=True)
    purpose = models.CharField(_("事由"), max_length=100, blank=True)
    plate = models.CharField(_("车牌"), max_length=16, blank=True)
    vehicle_purpose = models.CharField(_("车辆用途"), max_length=16, choices=VehiclePurpose.choices, blank=True)
    returnee = models.BooleanField(_("返沪登记"), default=False)
    idempotency_key = models.CharField(max_length=200, blank=True)
    guard = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_constraint=False
    )

    scope_fields = _compound_scope()

    class Meta:
        verbose_name = _("出入记录")
        verbose_name_plural = _("出入记录")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["gate", "at"], name="gates_passage_gate_at_idx"),
            models.Index(fields=["neighbourhood", "day"], name="gates_passage_day_idx"),
            models.Index(fields=["household", "at"], name="gates_passage_household_idx"),
        ]
        constraints = [
            # A retried scan (same key, same gate, same day) is stored once. The day is in the
            # key so the constraint survives partitioning by day.
            models.UniqueConstraint(
                fields=["gate", "day", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="gates_passage_unique_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.gate_id} {self.direction} {self.at:%H:%M}"

    def audit_repr(self) -> str:
        return f"#{self.pk} {self.who_masked}"

    @property
    def who_masked(self) -> str:
        """Who passed, for lists: a visitor's name and phone masked."""
        if self.subject == Subject.VISITOR:
            return f"{mask_name(self.visitor_name)} {mask_phone(self.visitor_phone)}".strip()
        if self.subject == Subject.VEHICLE:
            return self.plate
        return ""


class Parcel(models.Model):
    """A parcel or takeaway for a household, from arrival at the gate to the door or pick-up."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    building = models.ForeignKey(Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey(Household, verbose_name=_("住户"), on_delete=models.CASCADE, related_name="+")
    carrier = models.CharField(_("快递/外卖"), max_length=50, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    pickup_code = models.CharField(_("取件码"), max_length=8)
    status = models.CharField(_("状态"), max_length=16, choices=ParcelStatus.choices, default=ParcelStatus.ARRIVED)
    arrived_at = models.DateTimeField(_("到达时间"), auto_now_add=True)
    disinfected_at = models.DateTimeField(_("消杀时间"), null=True, blank=True)
    done_at = models.DateTimeField(_("送达/取件时间"), null=True, blank=True)
    registered_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    done_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    scope_fields = _household_scope()

    class Meta:
        verbose_name = _("快递外卖")
        verbose_name_plural = _("快递外卖")
        ordering = ["arrived_at", "id"]
        indexes = [
            models.Index(fields=["neighbourhood", "status"], name="gates_parcel_status_idx"),
            models.Index(fields=["household", "status"], name="gates_parcel_household_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.carrier or self._meta.verbose_name} #{self.pk}"

    def audit_repr(self) -> str:
        return f"#{self.pk} {self.carrier}"
