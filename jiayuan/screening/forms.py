"""Shape validation for the screening pages; the rules are in ``services``."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiayuan.screening.choices import AntigenResult, PoolSize, RoundKind, SampleKind, StationKind, TubeResult


class RoundForm(forms.Form):
    kind = forms.ChoiceField(label=_("检测类型"), choices=RoundKind.choices, initial=RoundKind.PCR)
    date = forms.DateField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}))
    start_time = forms.TimeField(
        label=_("开始时间"), initial=dt.time(7, 0), widget=forms.TimeInput(attrs={"type": "time"})
    )
    end_time = forms.TimeField(
        label=_("结束时间"), initial=dt.time(11, 0), widget=forms.TimeInput(attrs={"type": "time"})
    )
    pool_size = forms.TypedChoiceField(label=_("混采数"), choices=PoolSize.choices, coerce=int, initial=PoolSize.TEN)
    slot_minutes = forms.IntegerField(label=_("每批时长(分钟)"), min_value=5, max_value=120, initial=20)
    neighbourhood = forms.ModelChoiceField(label=_("居民区"), queryset=None, empty_label=None)
    buildings = forms.ModelMultipleChoiceField(
        label=_("楼栋(不选为全居民区)"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, neighbourhoods, buildings, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["neighbourhood"].queryset = neighbourhoods
        self.fields["buildings"].queryset = buildings
        self.fields["buildings"].label_from_instance = lambda b: f"{b.compound.name} {b.name}"
        if not self.is_bound:
            self.initial.setdefault("date", timezone.localdate())


class StationForm(forms.Form):
    name = forms.CharField(
        label=_("名称"), max_length=64, widget=forms.TextInput(attrs={"placeholder": _("如: 南门采样点")})
    )
    kind = forms.ChoiceField(label=_("类型"), choices=StationKind.choices)
    samplers = forms.IntegerField(label=_("采样人员数"), min_value=1, max_value=50, initial=2)
    swabs_per_hour = forms.IntegerField(label=_("每人每小时采样数"), min_value=1, max_value=600, initial=60)


class ExemptForm(forms.Form):
    reason = forms.CharField(label=_("免检原因"), max_length=100)


class TubeResultForm(forms.Form):
    barcode = forms.CharField(label=_("试管条码"), max_length=40)
    result = forms.ChoiceField(
        label=_("结果"),
        choices=[(TubeResult.NEGATIVE, TubeResult.NEGATIVE.label), (TubeResult.POSITIVE, TubeResult.POSITIVE.label)],
        widget=forms.RadioSelect,
    )


class ResultUploadForm(forms.Form):
    file = forms.FileField(label=_("实验室结果文件(CSV 或 xlsx: 条码, 结果)"))


class PersonForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=64)
    contact = forms.CharField(label=_("手机号或证件号"), max_length=32, required=False)
    kind = forms.ChoiceField(
        label=_("人员类型"),
        choices=[(SampleKind.VISITOR, SampleKind.VISITOR.label), (SampleKind.WORKER, SampleKind.WORKER.label)],
    )


MSG_CONFIRM_POSITIVE = _("请勾选“确认结果为阳性”后再上报; 如不确定, 请对照说明书再看一遍检测卡。")


class AntigenForm(forms.Form):
    """One antigen result. A positive asks for ``confirm_positive`` (a misread card keeps a
    household home until the PCR retest) and, where possible, a photo of the card."""

    resident = forms.IntegerField(widget=forms.HiddenInput)
    result = forms.ChoiceField(label=_("结果"), choices=AntigenResult.choices, widget=forms.RadioSelect)
    confirm_positive = forms.BooleanField(label=_("确认结果为阳性"), required=False)
    photo = forms.FileField(label=_("照片(可选)"), required=False)

    def clean(self):
        data = super().clean()
        if data.get("result") == AntigenResult.POSITIVE and not data.get("confirm_positive"):
            self.add_error("confirm_positive", MSG_CONFIRM_POSITIVE)
        return data


class AntigenConfirmForm(forms.Form):
    note = forms.CharField(label=_("核实情况(可选)"), max_length=200, required=False)
