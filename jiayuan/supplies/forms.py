"""Shape validation only; the rules live in services."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from jiayuan.supplies.choices import BookingMode, Category, DeliveryMode, HandoutUnit, IssueKind, SelectionMode
from jiayuan.supplies.models import MAX_DOCUMENT_BYTES

ITEM_ROWS = 5
DONATION_ROWS = 3
DATE = forms.DateInput(attrs={"type": "date"})
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class _Upload(forms.FileField):
    def clean(self, data, initial=None):
        f = super().clean(data, initial)
        if f and f.size > MAX_DOCUMENT_BYTES:
            raise ValidationError(_("文件过大(最大 5 MB)"))
        return f


class LeaderApplyForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=64)
    phone = forms.CharField(label=_("手机号"), max_length=20, required=False)
    channel = forms.CharField(label=_("渠道/供应商"), max_length=200, help_text=_("如:某超市、某批发市场、某平台"))
    note = forms.CharField(label=_("说明"), widget=forms.Textarea, required=False)
    permit_number = forms.CharField(label=_("防疫物资许可/保供证明编号"), max_length=64, required=False)
    permit_expires_on = forms.DateField(label=_("防疫物资许可/保供证明有效期至"), widget=DATE)
    permit_file = _Upload(label=_("防疫物资许可/保供证明(图片或PDF)"))
    licence_number = forms.CharField(label=_("食品经营许可证编号"), max_length=64, required=False)
    licence_expires_on = forms.DateField(label=_("食品经营许可证有效期至"), widget=DATE)
    licence_file = _Upload(label=_("食品经营许可证(图片或PDF)"))

    def documents(self) -> list[dict]:
        d = self.cleaned_data
        return [
            {
                "kind": kind,
                "number": d.get(f"{kind}_number", ""),
                "expires_on": d[f"{kind}_expires_on"],
                "filename": d[f"{kind}_file"].name,
                "data": d[f"{kind}_file"].read(),
            }
            for kind in ("permit", "licence")
        ]


class StaffLeaderForm(LeaderApplyForm):
    building = forms.ModelChoiceField(label=_("楼栋"), queryset=None)
    unit = forms.CharField(label=_("单元"), max_length=16, required=False)
    room = forms.CharField(label=_("室号"), max_length=16)

    field_order = ["building", "unit", "room"]

    def __init__(self, *args, buildings=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = buildings


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("证件类型"), choices=[("permit", _("防疫物资许可/保供证明")), ("licence", _("食品经营许可证"))]
    )
    number = forms.CharField(label=_("编号"), max_length=64, required=False)
    expires_on = forms.DateField(label=_("有效期至"), widget=DATE)
    file = _Upload(label=_("文件(图片或PDF)"))


class ReviewForm(forms.Form):
    reason = forms.CharField(label=_("审核意见(驳回时必填)"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ProposalForm(forms.Form):
    title = forms.CharField(label=_("名称"), max_length=100)
    category = forms.ChoiceField(label=_("品类"), choices=Category.choices)
    supplier = forms.CharField(label=_("供应商"), max_length=200)
    brand = forms.CharField(label=_("品牌"), max_length=100, required=False)
    delivery_date = forms.DateField(label=_("承诺送达日期"), widget=DATE)
    min_households = forms.IntegerField(label=_("成团户数"), min_value=0, required=False)
    description = forms.CharField(label=_("说明"), widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for n in range(ITEM_ROWS):
            self.fields[f"item_{n}_name"] = forms.CharField(label=_("商品"), max_length=100, required=False)
            self.fields[f"item_{n}_unit"] = forms.CharField(
                label=_("单位"), max_length=16, required=False, initial="份"
            )
            self.fields[f"item_{n}_price"] = forms.DecimalField(
                label=_("单价"), max_digits=9, decimal_places=2, min_value=0, required=False
            )
            self.fields[f"item_{n}_limit"] = forms.IntegerField(label=_("每户限购"), min_value=1, required=False)
            self.fields[f"item_{n}_total"] = forms.IntegerField(label=_("总量"), min_value=1, required=False)

    def item_rows(self):
        return [[self[f"item_{n}_{f}"] for f in ("name", "unit", "price", "limit", "total")] for n in range(ITEM_ROWS)]

    def items(self) -> list[dict]:
        d = self.cleaned_data
        rows = []
        for n in range(ITEM_ROWS):
            if d.get(f"item_{n}_name"):
                rows.append(
                    {
                        "name": d[f"item_{n}_name"],
                        "unit": d.get(f"item_{n}_unit") or "份",
                        "unit_price": d.get(f"item_{n}_price"),
                        "per_household_limit": d.get(f"item_{n}_limit"),
                        "total_quantity": d.get(f"item_{n}_total"),
                    }
                )
        return rows

    def proposal(self) -> dict:
        """The keyword arguments of ``services.group_buy_propose`` (staff page and leader's link page)."""
        d = self.cleaned_data
        return {
            "title": d["title"],
            "category": d["category"],
            "supplier": d["supplier"],
            "brand": d["brand"],
            "delivery_date": d["delivery_date"],
            "min_households": d["min_households"] or 0,
            "description": d["description"],
            "items": self.items(),
        }


class OrderForm(forms.Form):
    """One quantity field per item of the group buy, plus a hidden per-form idempotency key."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=200)
    delivery_mode = forms.ChoiceField(label=_("收货方式"), choices=DeliveryMode.choices, initial=DeliveryMode.DOOR)

    def __init__(self, *args, items=(), pickup_refused: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.items = list(items)
        for item in self.items:
            limit = item.per_household_limit or 99
            remaining = item.remaining
            top = min(limit, remaining) if remaining is not None else limit
            self.fields[f"q_{item.pk}"] = forms.IntegerField(
                label=item.name, min_value=0, max_value=max(top, 0), required=False, initial=0
            )
        if pickup_refused:  # the reason control gives why the household may not go out
            self.fields["delivery_mode"].choices = [(DeliveryMode.DOOR, DeliveryMode.DOOR.label)]
            self.fields["delivery_mode"].help_text = pickup_refused

    def item_fields(self):
        return [(item, self[f"q_{item.pk}"]) for item in self.items]

    def quantities(self) -> dict[int, int]:
        return {item.pk: self.cleaned_data.get(f"q_{item.pk}") or 0 for item in self.items}

    def add_error(self, field, error):
        if field == "items":
            field = None
        super().add_error(field, error)


class ProxyOrderForm(OrderForm):
    resident = forms.ModelChoiceField(label=_("代谁下单(无智能手机的居民)"), queryset=None)

    field_order = ["resident"]

    def __init__(self, *args, residents=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resident"].queryset = residents
        self.fields["resident"].label_from_instance = lambda r: (
            f"{r.household.building.name} {r.household.label} {r.name}"
        )


class ArrivalForm(forms.Form):
    vehicle_plate = forms.CharField(label=_("车牌"), max_length=20)
    driver_name = forms.CharField(label=_("司机"), max_length=64)
    driver_phone = forms.CharField(label=_("司机电话"), max_length=20, required=False)
    arrival_note = forms.CharField(
        label=_("到货数量"), widget=forms.Textarea(attrs={"rows": 2}), required=False, help_text=_("如:蔬菜包 120 份")
    )
    arrived_at = forms.DateTimeField(label=_("到货时间"), widget=DATETIME, required=False)


class DisinfectForm(forms.Form):
    disinfected_at = forms.DateTimeField(label=_("消杀时间"), widget=DATETIME, required=False)
    confirm_backdated = forms.BooleanField(
        label=_("确认消杀时间属实"),
        required=False,
        help_text=_("补登较早的消杀时间会让静置提前结束, 需要勾选确认。"),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=500)


class DeliverForm(forms.Form):
    bags = forms.IntegerField(label=_("袋数"), min_value=0, required=False)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)


class IssueForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=IssueKind.choices)
    text = forms.CharField(label=_("内容"), widget=forms.Textarea(attrs={"rows": 2}))
    refund_amount = forms.DecimalField(
        label=_("退款金额"), max_digits=10, decimal_places=2, min_value=0, required=False
    )


class SettingsForm(forms.Form):
    selection_mode = forms.ChoiceField(label=_("同类团购选定方式"), choices=SelectionMode.choices)
    rest_minutes = forms.IntegerField(
        label=_("消杀后静置分钟数"),
        min_value=0,
        max_value=1440,
        help_text=_("静置结束前不能分拣和送货。改动只对之后登记的消杀生效。"),
    )
    daily_limit_per_category = forms.IntegerField(label=_("每小区每天同类团购上限"), min_value=1, max_value=20)


class HandoutRoundForm(forms.Form):
    title = forms.CharField(label=_("名称"), max_length=100)
    package = forms.CharField(label=_("物资内容"), max_length=200)
    unit = forms.ChoiceField(label=_("发放方式"), choices=HandoutUnit.choices)
    compound = forms.ModelChoiceField(label=_("小区(不选则全居民区)"), queryset=None, required=False)

    def __init__(self, *args, compounds=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["compound"].queryset = compounds


class DonationForm(forms.Form):
    donor = forms.CharField(label=_("捐赠方"), max_length=100)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for n in range(DONATION_ROWS):
            self.fields[f"line_{n}_name"] = forms.CharField(label=_("物资"), max_length=100, required=False)
            self.fields[f"line_{n}_unit"] = forms.CharField(label=_("单位"), max_length=16, required=False)
            self.fields[f"line_{n}_quantity"] = forms.IntegerField(label=_("数量"), min_value=1, required=False)

    def line_rows(self):
        return [[self[f"line_{n}_{f}"] for f in ("name", "unit", "quantity")] for n in range(DONATION_ROWS)]

    def lines(self) -> list[dict]:
        d = self.cleaned_data
        return [
            {
                "name": d[f"line_{n}_name"],
                "unit": d.get(f"line_{n}_unit") or "个",
                "quantity": d.get(f"line_{n}_quantity"),
            }
            for n in range(DONATION_ROWS)
            if d.get(f"line_{n}_name")
        ]


class StockIssueForm(forms.Form):
    quantity = forms.IntegerField(label=_("数量"), min_value=1)
    recipient = forms.CharField(label=_("领取人(志愿者或住户)"), max_length=100)


class ThresholdForm(forms.Form):
    low_threshold = forms.IntegerField(label=_("低库存提醒"), min_value=0)


class CampaignForm(forms.Form):
    title = forms.CharField(label=_("名称"), max_length=100)
    item_name = forms.CharField(label=_("物资"), max_length=100, initial="口罩")
    quota_per_household = forms.IntegerField(label=_("每户限额"), min_value=1, initial=5)
    voucher_prefix = forms.CharField(label=_("凭证前缀"), max_length=8, initial="KZ")


class WindowForm(forms.Form):
    place = forms.CharField(label=_("领取地点"), max_length=100)
    starts_at = forms.DateTimeField(label=_("开始"), widget=DATETIME)
    ends_at = forms.DateTimeField(label=_("结束"), widget=DATETIME)
    capacity = forms.IntegerField(label=_("可预约户数"), min_value=1)


class BookingForm(forms.Form):
    quantity = forms.IntegerField(label=_("数量"), min_value=1)
    mode = forms.ChoiceField(label=_("领取方式"), choices=BookingMode.choices, initial=BookingMode.PICKUP)


class StaffBookingForm(BookingForm):
    window = forms.ModelChoiceField(label=_("时段"), queryset=None)
    building = forms.ModelChoiceField(label=_("楼栋"), queryset=None)
    unit = forms.CharField(label=_("单元"), max_length=16, required=False)
    room = forms.CharField(label=_("室号"), max_length=16)

    field_order = ["window", "building", "unit", "room"]

    def __init__(self, *args, windows=None, buildings=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["window"].queryset = windows
        self.fields["building"].queryset = buildings
        self.fields["mode"].initial = BookingMode.PROXY
