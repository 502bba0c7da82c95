"""Supplies: group-buy leaders and their review, group buys with bidding, orders (incl. proxy
orders), arrival and disinfection, sorting and door delivery, handouts, donations and stock,
scarce-item appointments.

Every row carries its ``neighbourhood`` (denormalised) and declares ``scope_fields``.
Counters that guard a limited resource (``GroupBuyItem.ordered_quantity``,
``StockItem.quantity``, ``AppointmentWindow.booked``) are only changed by services that lock
the row first, and a database check constraint backs each limit.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiayuan.core.fields import EncryptedTextField
from jiayuan.core.masking import mask_name, mask_phone
from jiayuan.places.models import Building, Compound, Household, Neighbourhood
from jiayuan.supplies.choices import (
    READY,
    READY_LABEL,
    BookingMode,
    Category,
    DeliveryMode,
    DocumentKind,
    GroupBuyStatus,
    HandoutUnit,
    IssueKind,
    LeaderStatus,
    MovementKind,
    OrderStatus,
    SelectionMode,
)

USER = settings.AUTH_USER_MODEL


def _compound_of_buildings(ids) -> Q:
    return Q(compound_id__in=Building.objects.filter(id__in=ids).values("compound_id"))


# Neighbourhood-wide rows (settings, stock, campaigns): building/compound-level roles see those
# of the neighbourhood their place belongs to.
NEIGHBOURHOOD_WIDE = {
    "street": "neighbourhood__street_id",
    "neighbourhood": "neighbourhood_id",
    "compound": lambda ids: Q(neighbourhood_id__in=Compound.objects.filter(id__in=ids).values("neighbourhood_id")),
    "building": lambda ids: Q(neighbourhood_id__in=Building.objects.filter(id__in=ids).values("neighbourhood_id")),
}

# Rows of one compound (group buys, handout rounds): building roles see their compound's.
COMPOUND_WIDE = {
    "street": "neighbourhood__street_id",
    "neighbourhood": "neighbourhood_id",
    "compound": "compound_id",
    "building": _compound_of_buildings,
}

# Rows of one household or building (orders, receipts, bookings).
PER_BUILDING = {
    "street": "neighbourhood__street_id",
    "neighbourhood": "neighbourhood_id",
    "compound": "building__compound_id",
    "building": "building_id",
}


class SuppliesSettings(models.Model):
    """Per-neighbourhood rules agreed by the three carriages."""

    neighbourhood = models.OneToOneField(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.CASCADE, related_name="supplies_settings"
    )
    selection_mode = models.CharField(
        _("同类团购选定方式"), max_length=16, choices=SelectionMode.choices, default=SelectionMode.VOTE
    )
    rest_minutes = models.PositiveSmallIntegerField(_("消杀后静置分钟数"), default=30)
    daily_limit_per_category = models.PositiveSmallIntegerField(_("每小区每天同类团购上限"), default=1)

    scope_fields = NEIGHBOURHOOD_WIDE

    class Meta:
        verbose_name = _("物资设置")
        verbose_name_plural = _("物资设置")

    def __str__(self) -> str:
        return f"{self.neighbourhood} {self._meta.verbose_name}"


class GroupBuyLeader(models.Model):
    """A resident who runs group buys (团长), after the committee's qualification review."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    household = models.ForeignKey(
        Household, verbose_name=_("住户"), on_delete=models.PROTECT, related_name="group_buy_leaders"
    )
    name = models.CharField(_("姓名"), max_length=64)
    phone = EncryptedTextField(_("联系电话"), blank=True)
    channel = models.CharField(_("渠道/供应商"), max_length=200)
    note = models.TextField(_("说明"), blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=LeaderStatus.choices, default=LeaderStatus.PENDING)
    review_reason = models.TextField(_("审核意见"), blank=True)
    reviewed_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    suspended_at = models.DateTimeField(_("暂停时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)

    scope_fields = {
        "street": "neighbourhood__street_id",
        "neighbourhood": "neighbourhood_id",
        "compound": "household__building__compound_id",
        "building": lambda ids: Q(
            household__building__compound_id__in=Building.objects.filter(id__in=ids).values("compound_id")
        ),
    }

    class Meta:
        verbose_name = _("团长")
        verbose_name_plural = _("团长")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["neighbourhood", "status"], name="sup_leader_status_idx")]

    def __str__(self) -> str:
        return self.name

    def audit_repr(self) -> str:
        return f"#{self.pk} {mask_name(self.name)}"

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)

    def current_documents(self) -> dict[str, LeaderDocument]:
        """The latest document of each kind (by expiry), using a prefetch when there is one."""
        latest: dict[str, LeaderDocument] = {}
        for doc in self.documents.all():
            have = latest.get(doc.kind)
            if have is None or (doc.expires_on, doc.pk) > (have.expires_on, have.pk):
                latest[doc.kind] = doc
        return latest

    def documents_valid_until(self) -> dt.date | None:
        """The day the first of the required documents expires; None when one is missing."""
        docs = self.current_documents()
        if any(kind not in docs for kind in DocumentKind.values):
            return None
        return min(d.expires_on for d in docs.values())

    def documents_expire_soon(self, days: int = 7) -> bool:
        """Approved, but a required document expires within ``days`` (time to renew)."""
        until = self.documents_valid_until()
        today = timezone.localdate()
        return (
            self.status == LeaderStatus.APPROVED and until is not None and today <= until <= today + dt.timedelta(days)
        )

    def effective_status(self, on: dt.date | None = None) -> str:
        """Approved leaders whose documents have expired are suspended, whatever the stored status."""
        on = on or timezone.localdate()
        if self.status == LeaderStatus.APPROVED:
            until = self.documents_valid_until()
            if until is None or until < on:
                return LeaderStatus.SUSPENDED
        return self.status

    def effective_status_label(self) -> str:
        return str(LeaderStatus(self.effective_status()).label)

    def is_active(self, on: dt.date | None = None) -> bool:
        return self.effective_status(on) == LeaderStatus.APPROVED


ALLOWED_DOCUMENT_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024


class LeaderDocument(models.Model):
    """A scanned permit or licence. Kept in the database so every app node can serve it."""

    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    leader = models.ForeignKey(GroupBuyLeader, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("证件类型"), max_length=16, choices=DocumentKind.choices)
    number = models.CharField(_("证件编号"), max_length=64, blank=True)
    expires_on = models.DateField(_("有效期至"))
    filename = models.CharField(_("文件名"), max_length=200)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField(default=0)
    data = models.BinaryField(_("文件"))
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    scope_fields = {
        "street": "neighbourhood__street_id",
        "neighbourhood": "neighbourhood_id",
        "compound": "leader__household__building__compound_id",
        "building": lambda ids: Q(
            leader__household__building__compound_id__in=Building.objects.filter(id__in=ids).values("compound_id")
        ),
    }

    class Meta:
        verbose_name = _("团长证件")
        verbose_name_plural = _("团长证件")
        ordering = ["kind", "-expires_on"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.expires_on}"


class GroupBuy(models.Model):
    """One group buy (团购) of one leader, from proposal to delivery."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.PROTECT, related_name="group_buys")
    leader = models.ForeignKey(
        GroupBuyLeader, verbose_name=_("团长"), on_delete=models.PROTECT, related_name="group_buys"
    )
    title = models.CharField(_("名称"), max_length=100)
    category = models.CharField(_("品类"), max_length=16, choices=Category.choices)
    supplier = models.CharField(_("供应商"), max_length=200)
    brand = models.CharField(_("品牌"), max_length=100, blank=True)
    description = models.TextField(_("说明"), blank=True)
    min_households = models.PositiveIntegerField(_("成团户数"), default=0)
    delivery_date = models.DateField(_("承诺送达日期"))
    status = models.CharField(_("状态"), max_length=16, choices=GroupBuyStatus.choices, default=GroupBuyStatus.PROPOSED)
    status_reason = models.TextField(_("原因"), blank=True)
    selected_by = models.CharField(_("选定方式"), max_length=16, choices=SelectionMode.choices, blank=True)
    votes_received = models.PositiveIntegerField(_("得票"), default=0)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Arrival at the gate
    vehicle_plate = models.CharField(_("车牌"), max_length=20, blank=True)
    driver_name = models.CharField(_("司机"), max_length=64, blank=True)
    driver_phone = EncryptedTextField(_("司机电话"), blank=True)
    arrival_note = models.TextField(_("到货数量"), blank=True)
    arrived_at = models.DateTimeField(_("到货时间"), null=True, blank=True)
    admitted_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    disinfected_at = models.DateTimeField(_("消杀时间"), null=True, blank=True)
    disinfected_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    ready_at = models.DateTimeField(_("可分拣时间"), null=True, blank=True)
    sorted_at = models.DateTimeField(_("分拣完成时间"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)

    scope_fields = COMPOUND_WIDE

    class Meta:
        verbose_name = _("团购")
        verbose_name_plural = _("团购")
        ordering = ["-delivery_date", "-id"]
        indexes = [
            models.Index(fields=["compound", "category", "delivery_date"], name="sup_gb_bidding_idx"),
            models.Index(fields=["neighbourhood", "status"], name="sup_gb_status_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def audit_repr(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def bidding_key(self) -> str:
        return f"{self.compound_id}:{self.category}:{self.delivery_date.isoformat()}"

    @property
    def effective_status(self) -> str:
        if self.status == GroupBuyStatus.DISINFECTED and self.ready_at and timezone.now() >= self.ready_at:
            return READY
        return self.status

    @property
    def effective_status_label(self) -> str:
        s = self.effective_status
        return str(READY_LABEL) if s == READY else self.get_status_display()

    @property
    def is_ready(self) -> bool:
        return self.ready_at is not None and timezone.now() >= self.ready_at

    @property
    def driver_phone_masked(self) -> str:
        return mask_phone(self.driver_phone)


class GroupBuyItem(models.Model):
    """One item of a group buy with its price, per-household limit and (optional) total stock."""

    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    group_buy = models.ForeignKey(GroupBuy, on_delete=models.CASCADE, related_name="items")
    name = models.CharField(_("商品"), max_length=100)
    spec = models.CharField(_("规格"), max_length=100, blank=True)
    unit = models.CharField(_("单位"), max_length=16, default="份")
    unit_price = models.DecimalField(_("单价"), max_digits=9, decimal_places=2)
    per_household_limit = models.PositiveIntegerField(_("每户限购"), null=True, blank=True)
    total_quantity = models.PositiveIntegerField(_("总量"), null=True, blank=True)
    ordered_quantity = models.PositiveIntegerField(_("已订"), default=0)

    scope_fields = {
        "street": "neighbourhood__street_id",
        "neighbourhood": "neighbourhood_id",
        "compound": "group_buy__compound_id",
        "building": lambda ids: Q(group_buy__compound_id__in=Building.objects.filter(id__in=ids).values("compound_id")),
    }

    class Meta:
        verbose_name = _("团购商品")
        verbose_name_plural = _("团购商品")
        ordering = ["group_buy_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_quantity__isnull=True) | Q(ordered_quantity__lte=F("total_quantity")),
                name="sup_item_no_oversell",
                violation_error_message=_("超出可订总量"),
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def remaining(self) -> int | None:
        return None if self.total_quantity is None else self.total_quantity - self.ordered_quantity


class Vote(models.Model):
    """One household's vote among the proposals of one bidding group (compound, category, day)."""

    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="+")
    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="+")
    group_buy = models.ForeignKey(GroupBuy, on_delete=models.CASCADE, related_name="votes")
    bidding_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_fields = PER_BUILDING

    class Meta:
        verbose_name = _("投票")
        verbose_name_plural = _("投票")
        constraints = [
            models.UniqueConstraint(
                fields=["household", "bidding_key"],
                name="sup_vote_once_per_household",
                violation_error_message=_("本户已经投过票"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.household_id}→{self.group_buy_id}"


class Order(models.Model):
    """A household's order (接龙) in one group buy, placed through its link or by proxy."""

    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    group_buy = models.ForeignKey(GroupBuy, verbose_name=_("团购"), on_delete=models.PROTECT, related_name="orders")
    household = models.ForeignKey(Household, verbose_name=_("住户"), on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey(Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状态"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.ACTIVE)
    delivery_mode = models.CharField(
        _("收货方式"), max_length=16, choices=DeliveryMode.choices, default=DeliveryMode.DOOR
    )
    is_proxy = models.BooleanField(_("代下单"), default=False)
    placed_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    proxy_for = models.ForeignKey(
        "people.Resident",
        verbose_name=_("代谁下单"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    total_amount = models.DecimalField(_("金额"), max_digits=10, decimal_places=2, default=Decimal("0"))
    paid = models.BooleanField(_("已付款"), default=False)
    idempotency_key = models.CharField(max_length=200, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("下单时间"), auto_now_add=True)

    scope_fields = PER_BUILDING

    class Meta:
        verbose_name = _("订单")
        verbose_name_plural = _("订单")
        ordering = ["group_buy_id", "building_id", "household_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["group_buy", "household", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="sup_order_idempotency",
            )
        ]
        indexes = [models.Index(fields=["group_buy", "building"], name="sup_order_building_idx")]

    def __str__(self) -> str:
        return f"#{self.pk}"

    def audit_repr(self) -> str:
        return f"#{self.pk} {self.household.building.name} {self.household.label}"


class OrderLine(models.Model):
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(GroupBuyItem, on_delete=models.PROTECT, related_name="lines")
    quantity = models.PositiveIntegerField(_("数量"))
    unit_price = models.DecimalField(_("单价"), max_digits=9, decimal_places=2)

    scope_fields = {
        "street": "neighbourhood__street_id",
        "neighbourhood": "neighbourhood_id",
        "compound": "order__building__compound_id",
        "building": "order__building_id",
    }

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="sup_line_positive")]

    def __str__(self) -> str:
        return f"{self.item_id}×{self.quantity}"


class BuildingDelivery(models.Model):
    """A building's bags of one group buy signed off as delivered by a volunteer."""

    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    group_buy = models.ForeignKey(GroupBuy, on_delete=models.CASCADE, related_name="deliveries")
    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="+")
    bags = models.PositiveIntegerField(_("袋数"), default=0)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    delivered_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    delivered_at = models.DateTimeField(_("签收时间"), default=timezone.now)

    scope_fields = PER_BUILDING

    class Meta:
        verbose_name = _("楼栋签收")
        verbose_name_plural = _("楼栋签收")
        constraints = [models.UniqueConstraint(fields=["group_buy", "building"], name="sup_delivery_once")]

    def __str__(self) -> str:
        return f"{self.group_buy_id}/{self.building_id}"


class GroupBuyIssue(models.Model):
    """A complaint or a refund noted against a group buy (money moves outside the system)."""

    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    group_buy = models.ForeignKey(GroupBuy, on_delete=models.CASCADE, related_name="issues")
    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey(Household, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    kind = models.CharField(_("类型"), max_length=16, choices=IssueKind.choices)
    text = models.TextField(_("内容"))
    refund_amount = models.DecimalField(_("退款金额"), max_digits=10, decimal_places=2, null=True, blank=True)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    scope_fields = COMPOUND_WIDE

    class Meta:
        verbose_name = _("投诉/退款")
        verbose_name_plural = _("投诉/退款")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


# Handouts ----------------------------------------------------------------------------------


class HandoutRound(models.Model):
    """A round of government packages (政府保供包), one per household or per person."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    compound = models.ForeignKey(
        Compound, verbose_name=_("小区"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    title = models.CharField(_("名称"), max_length=100)
    package = models.CharField(_("物资内容"), max_length=200)
    unit = models.CharField(_("发放方式"), max_length=16, choices=HandoutUnit.choices, default=HandoutUnit.HOUSEHOLD)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    scope_fields = {
        "street": "neighbourhood__street_id",
        "neighbourhood": "neighbourhood_id",
        "compound": lambda ids: (
            Q(compound_id__in=ids)
            | Q(
                compound__isnull=True,
                neighbourhood_id__in=Compound.objects.filter(id__in=ids).values("neighbourhood_id"),
            )
        ),
        "building": lambda ids: (
            _compound_of_buildings(ids)
            | Q(
                compound__isnull=True,
                neighbourhood_id__in=Building.objects.filter(id__in=ids).values("neighbourhood_id"),
            )
        ),
    }

    class Meta:
        verbose_name = _("发放轮次")
        verbose_name_plural = _("发放轮次")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    def audit_repr(self) -> str:
        return f"#{self.pk} {self.title}"


class HandoutReceipt(models.Model):
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    round = models.ForeignKey(HandoutRound, on_delete=models.CASCADE, related_name="receipts")
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="+")
    resident = models.ForeignKey("people.Resident", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    received_at = models.DateTimeField(_("领取时间"), default=timezone.now)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    scope_fields = PER_BUILDING

    class Meta:
        verbose_name = _("发放记录")
        verbose_name_plural = _("发放记录")
        constraints = [
            models.UniqueConstraint(
                fields=["round", "household"], condition=Q(resident__isnull=True), name="sup_receipt_household_once"
            ),
            models.UniqueConstraint(
                fields=["round", "resident"], condition=Q(resident__isnull=False), name="sup_receipt_person_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.round_id}/{self.household_id}"


# Donations and stock -----------------------------------------------------------------------


class StockItem(models.Model):
    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("物资"), max_length=100)
    unit = models.CharField(_("单位"), max_length=16, default="个")
    quantity = models.IntegerField(_("库存"), default=0)
    low_threshold = models.PositiveIntegerField(_("低库存提醒"), default=0)

    scope_fields = NEIGHBOURHOOD_WIDE

    class Meta:
        verbose_name = _("库存物资")
        verbose_name_plural = _("库存物资")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["neighbourhood", "name"], name="sup_stock_unique_name"),
            models.CheckConstraint(
                condition=Q(quantity__gte=0), name="sup_stock_never_negative", violation_error_message=_("库存不足")
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def audit_repr(self) -> str:
        return f"#{self.pk} {self.name}"

    @property
    def is_low(self) -> bool:
        return self.quantity <= self.low_threshold


class Donation(models.Model):
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    donor = models.CharField(_("捐赠方"), max_length=100)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    received_at = models.DateTimeField(_("接收时间"), default=timezone.now)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    scope_fields = NEIGHBOURHOOD_WIDE

    class Meta:
        verbose_name = _("捐赠")
        verbose_name_plural = _("捐赠")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return self.donor

    def audit_repr(self) -> str:
        return f"#{self.pk} {self.donor}"


class StockMovement(models.Model):
    """The stock ledger: every change of a ``StockItem.quantity`` is one row here."""

    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    stock_item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(_("类型"), max_length=16, choices=MovementKind.choices)
    delta = models.IntegerField(_("数量变化"))
    balance = models.IntegerField(_("结存"))
    donation = models.ForeignKey(Donation, on_delete=models.PROTECT, null=True, blank=True, related_name="movements")
    to_household = models.ForeignKey(Household, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    to_user = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recipient = models.CharField(_("领取人/去向"), max_length=100, blank=True)
    actor = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    scope_fields = NEIGHBOURHOOD_WIDE

    class Meta:
        verbose_name = _("出入库记录")
        verbose_name_plural = _("出入库记录")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.stock_item_id} {self.delta:+d}"


# Scarce-item appointments ------------------------------------------------------------------


class AppointmentCampaign(models.Model):
    """A rationed item booked by appointment (口罩预约), with a quota per household."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(_("名称"), max_length=100)
    item_name = models.CharField(_("物资"), max_length=100)
    quota_per_household = models.PositiveIntegerField(_("每户限额"), default=5)
    voucher_prefix = models.CharField(_("凭证前缀"), max_length=8, default="KZ")
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    scope_fields = NEIGHBOURHOOD_WIDE

    class Meta:
        verbose_name = _("预约活动")
        verbose_name_plural = _("预约活动")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    def audit_repr(self) -> str:
        return f"#{self.pk} {self.title}"


class AppointmentWindow(models.Model):
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    campaign = models.ForeignKey(AppointmentCampaign, on_delete=models.CASCADE, related_name="windows")
    place = models.CharField(_("领取地点"), max_length=100)
    starts_at = models.DateTimeField(_("开始"))
    ends_at = models.DateTimeField(_("结束"))
    capacity = models.PositiveIntegerField(_("可预约户数"))
    booked = models.PositiveIntegerField(_("已预约"), default=0)

    scope_fields = NEIGHBOURHOOD_WIDE

    class Meta:
        verbose_name = _("预约时段")
        verbose_name_plural = _("预约时段")
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(booked__lte=F("capacity")),
                name="sup_window_capacity",
                violation_error_message=_("该时段已约满"),
            )
        ]

    def __str__(self) -> str:
        local = timezone.localtime(self.starts_at)
        return f"{local:%m-%d %H:%M}–{timezone.localtime(self.ends_at):%H:%M} {self.place}"

    @property
    def remaining(self) -> int:
        return self.capacity - self.booked


class Booking(models.Model):
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="+")
    campaign = models.ForeignKey(AppointmentCampaign, on_delete=models.PROTECT, related_name="bookings")
    window = models.ForeignKey(AppointmentWindow, on_delete=models.PROTECT, related_name="bookings")
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("数量"))
    voucher = models.CharField(_("凭证号"), max_length=32, unique=True)
    mode = models.CharField(_("领取方式"), max_length=16, choices=BookingMode.choices, default=BookingMode.PICKUP)
    booked_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("预约时间"), auto_now_add=True)
    collected_at = models.DateTimeField(_("领取时间"), null=True, blank=True)

    scope_fields = PER_BUILDING

    class Meta:
        verbose_name = _("预约")
        verbose_name_plural = _("预约")
        ordering = ["window_id", "voucher"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "household"],
                name="sup_booking_once_per_household",
                violation_error_message=_("本户已经预约过"),
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="sup_booking_positive"),
        ]

    def __str__(self) -> str:
        return self.voucher

    def audit_repr(self) -> str:
        return f"#{self.pk} {self.voucher}"
