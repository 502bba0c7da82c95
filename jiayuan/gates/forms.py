"""Forms of the gate pages (shape only: the rules are in ``services``)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from jiayuan.control.choices import RiskLevel, Transport
from jiayuan.gates.choices import Direction, GateState, PassKind, Restriction, VehiclePurpose

_DATE = forms.DateInput(attrs={"type": "date"})
_TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
_TEMP = forms.NumberInput(attrs={"step": "0.1", "min": "34", "max": "43", "inputmode": "decimal"})


class ScanForm(forms.Form):
    code = forms.CharField(label=_("居民码或通行证"), max_length=60, required=False)
    resident = forms.IntegerField(required=False, widget=forms.HiddenInput)
    direction = forms.ChoiceField(label=_("方向"), choices=Direction.choices, widget=forms.RadioSelect)
    temperature = forms.DecimalField(label=_("体温 ℃"), required=False, max_digits=3, decimal_places=1, widget=_TEMP)
    away = forms.BooleanField(label=_("出门多日(在住状态改为外出)"), required=False)


class VisitorForm(forms.Form):
    direction = forms.ChoiceField(label=_("方向"), choices=Direction.choices, initial=Direction.IN)
    name = forms.CharField(label=_("访客姓名"), max_length=64)
    phone = forms.CharField(label=_("访客电话"), max_length=40, widget=forms.TextInput(attrs={"inputmode": "tel"}))
    purpose = forms.CharField(label=_("事由"), max_length=100)
    building = forms.TypedChoiceField(label=_("被访楼栋"), coerce=int)
    unit = forms.CharField(label=_("单元"), max_length=16, required=False)
    room = forms.CharField(label=_("室号"), max_length=16)
    temperature = forms.DecimalField(label=_("体温 ℃"), required=False, max_digits=3, decimal_places=1, widget=_TEMP)

    def __init__(self, *args, buildings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].choices = [(b.pk, f"{b.compound.name} {b.name}") for b in buildings]


class VehicleForm(forms.Form):
    direction = forms.ChoiceField(label=_("方向"), choices=Direction.choices, initial=Direction.IN)
    plate = forms.CharField(label=_("车牌"), max_length=16)
    purpose = forms.ChoiceField(label=_("用途"), choices=VehiclePurpose.choices)
    temperature = forms.DecimalField(
        label=_("司机体温 ℃"), required=False, max_digits=3, decimal_places=1, widget=_TEMP
    )


class ReturneeForm(forms.Form):
    code = forms.CharField(label=_("居民码"), max_length=60)
    origin = forms.CharField(label=_("出发地"), max_length=100)
    origin_risk = forms.ChoiceField(label=_("出发地风险等级"), choices=RiskLevel.choices)
    transport = forms.ChoiceField(label=_("交通方式"), choices=Transport.choices)
    transport_detail = forms.CharField(label=_("车次/航班"), max_length=50, required=False)
    temperature = forms.DecimalField(label=_("体温 ℃"), required=False, max_digits=3, decimal_places=1, widget=_TEMP)
    commitment_signed = forms.BooleanField(label=_("已签署承诺书"), required=False)


class GateForm(forms.Form):
    compound = forms.TypedChoiceField(label=_("小区"), coerce=int)
    name = forms.CharField(label=_("门岗名称"), max_length=64)
    note = forms.CharField(label=_("说明"), max_length=200, required=False)

    def __init__(self, *args, compounds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["compound"].choices = [(c.pk, c.name) for c in compounds]


class GateStateForm(forms.Form):
    state = forms.ChoiceField(label=_("状态"), choices=GateState.choices)
    restriction = forms.ChoiceField(label=_("限制方式"), choices=[("", "—"), *Restriction.choices], required=False)
    open_from = forms.TimeField(label=_("开放时间从"), required=False, widget=_TIME)
    open_to = forms.TimeField(label=_("到"), required=False, widget=_TIME)
    note = forms.CharField(label=_("说明"), max_length=200, required=False)


class SettingsForm(forms.Form):
    controlled_may_go_out = forms.BooleanField(label=_("管控区居民可以外出"), required=False)
    pass_required = forms.BooleanField(label=_("外出须凭通行证"), required=False)
    presence_follows = forms.BooleanField(label=_("在住状态随出入变化(多日外出→外出, 返回→在住)"), required=False)
    parcel_overdue_hours = forms.IntegerField(label=_("快递滞留提醒(小时)"), min_value=1, max_value=240)


class PassForm(forms.Form):
    building = forms.TypedChoiceField(label=_("楼栋"), coerce=int)
    unit = forms.CharField(label=_("单元"), max_length=16, required=False)
    room = forms.CharField(label=_("室号"), max_length=16)
    kind = forms.ChoiceField(label=_("类型"), choices=PassKind.choices)
    employer = forms.CharField(label=_("单位及证明(上班)"), max_length=200, required=False)
    valid_from = forms.DateField(label=_("有效期从"), widget=_DATE)
    valid_to = forms.DateField(label=_("有效期到"), widget=_DATE)
    quota = forms.IntegerField(label=_("每期外出次数"), min_value=1, max_value=100, initial=1)
    period_days = forms.IntegerField(label=_("每期天数"), min_value=1, max_value=90, initial=2)

    def __init__(self, *args, buildings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].choices = [(b.pk, f"{b.compound.name} {b.name}") for b in buildings]


class ParcelForm(forms.Form):
    building = forms.TypedChoiceField(label=_("楼栋"), coerce=int, required=False)
    unit = forms.CharField(label=_("单元"), max_length=16, required=False)
    room = forms.CharField(label=_("室号"), max_length=16, required=False)
    phone_last4 = forms.CharField(
        label=_("或: 收件人手机尾号4位"),
        max_length=4,
        min_length=4,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "pattern": "[0-9]{4}"}),
    )
    carrier = forms.CharField(label=_("快递/外卖"), max_length=50, required=False)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args, buildings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].choices = [("", "—"), *((b.pk, f"{b.compound.name} {b.name}") for b in buildings)]
