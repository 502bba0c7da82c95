"""Forms of the control pages: shape only; the services hold the rules."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from jiayuan.control.choices import (
    CaseSource,
    CaseStatus,
    CaseType,
    ContactKind,
    LabResult,
    QuarantineKind,
    QuarantineReason,
    RiskLevel,
    Slot,
    Symptom,
    Transport,
    ZoneLevel,
    ZoneUnit,
)
from jiayuan.control.policies import PRESETS
from jiayuan.core.permissions import Action
from jiayuan.people import selectors as people_selectors

MAX_ID = 2**63 - 1

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

MSG_NO_MATCH = _("没有找到该居民(可输入 楼号-室号 和姓名, 如 3-301 王阳)")
MSG_MANY = _("匹配到多位居民, 请补充楼号-室号或完整姓名")


def find_resident(user, text: str, action: str = Action.VIEW_CONTROL):
    """One resident from ``#id`` or words such as ``3-301 王阳`` (each word narrows the search)."""
    text = (text or "").strip()
    if not text:
        return None
    qs = people_selectors.resident_list(user=user, action=action)
    digits = text[1:]
    if text.startswith("#") and digits.isascii() and digits.isdigit():
        # Only ASCII digits (``int("²")`` fails) and never past the database's integer range.
        qs = qs.filter(pk=int(digits)) if int(digits) <= MAX_ID else qs.none()
    else:
        for word in text.split()[:4]:
            qs = qs.filter(pk__in=people_selectors.resident_list(user=user, search=word, action=action).values("pk"))
    found = list(qs[:2])
    if not found:
        raise ValidationError(MSG_NO_MATCH)
    if len(found) > 1:
        exact = [r for r in found if r.name in text.split()]
        if len(exact) == 1:
            return exact[0]
        raise ValidationError(MSG_MANY)
    return found[0]


class ResidentLookupMixin:
    """Resolves the ``resident`` text field through the user's scope."""

    resident_action = Action.VIEW_CONTROL
    resident_required = True

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_resident(self):
        text = self.cleaned_data.get("resident", "")
        resident = find_resident(self.user, text, self.resident_action)
        if resident is None and self.resident_required:
            raise ValidationError(_("请填写居民"))
        return resident


class CaseForm(ResidentLookupMixin, forms.Form):
    resident_action = Action.MANAGE_CASES
    resident = forms.CharField(label=_("居民"), max_length=64, help_text=_("楼号-室号 和姓名, 如 3-301 王阳"))
    detected_on = forms.DateField(label=_("检出日期"), widget=DATE)
    source = forms.ChoiceField(label=_("来源"), choices=CaseSource.choices)
    type = forms.ChoiceField(label=_("类型"), choices=CaseType.choices)
    notes = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class TransitionForm(forms.Form):
    to_status = forms.ChoiceField(label=_("新状态"), choices=CaseStatus.choices)
    on = forms.DateField(label=_("日期"), widget=DATE)
    note = forms.CharField(label=_("说明"), required=False, max_length=200)


class VoidForm(forms.Form):
    reason = forms.CharField(label=_("作废原因"), max_length=200, help_text=_("如: 登记错人、抗原误报经核酸复核阴性"))
    release_contacts = forms.BooleanField(label=_("同时提前解除其密接、次密接的隔离"), required=False)


class ContactForm(ResidentLookupMixin, forms.Form):
    resident_action = Action.MANAGE_CASES
    resident_required = False
    kind = forms.ChoiceField(label=_("类别"), choices=ContactKind.choices)
    resident = forms.CharField(label=_("本居民区居民"), max_length=64, required=False, help_text=_("楼号-室号 和姓名"))
    name = forms.CharField(label=_("或: 非本居民区人员姓名"), max_length=64, required=False)
    phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)
    start_on = forms.DateField(label=_("隔离开始日期"), widget=DATE)
    quarantine_kind = forms.ChoiceField(
        label=_("隔离方式"), choices=[("", _("按政策")), *QuarantineKind.choices], required=False
    )
    place = forms.CharField(label=_("隔离地点"), max_length=100, required=False)


class QuarantineForm(ResidentLookupMixin, forms.Form):
    resident_action = Action.MANAGE_QUARANTINE
    resident = forms.CharField(label=_("居民"), max_length=64, help_text=_("楼号-室号 和姓名"))
    reason = forms.ChoiceField(label=_("原因"), choices=QuarantineReason.choices)
    kind = forms.ChoiceField(label=_("隔离方式"), choices=[("", _("按政策")), *QuarantineKind.choices], required=False)
    start_on = forms.DateField(label=_("开始日期"), widget=DATE)
    place = forms.CharField(label=_("隔离地点"), max_length=100, required=False)
    door_sensor = forms.CharField(label=_("门磁"), max_length=100, required=False, help_text=_("如: 已安装 编号 A-12"))


class QuarantineTestForm(forms.Form):
    on = forms.DateField(label=_("检测日期"), widget=DATE)
    result = forms.ChoiceField(label=_("结果"), choices=LabResult.choices)


class ReleaseForm(forms.Form):
    early = forms.BooleanField(label=_("提前解除"), required=False)
    reason = forms.CharField(label=_("原因(提前解除必填)"), max_length=200, required=False)


class TransferForm(forms.Form):
    reason = forms.CharField(label=_("转运原因/去向"), max_length=200)


class HealthCheckForm(forms.Form):
    slot = forms.ChoiceField(label=_("时段"), choices=Slot.choices)
    temperature = forms.DecimalField(label=_("体温(°C)"), max_digits=3, decimal_places=1, min_value=34, max_value=43)
    symptoms = forms.MultipleChoiceField(
        label=_("症状"), choices=Symptom.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    symptom_note = forms.CharField(label=_("其他症状"), max_length=200, required=False)
    door_sensor = forms.CharField(label=_("门磁情况"), max_length=100, required=False)


class ReturneeForm(ResidentLookupMixin, forms.Form):
    resident_action = Action.MANAGE_QUARANTINE
    resident = forms.CharField(label=_("居民"), max_length=64, help_text=_("楼号-室号 和姓名"))
    origin = forms.CharField(label=_("出发地"), max_length=100)
    origin_risk = forms.ChoiceField(label=_("出发地风险等级"), choices=RiskLevel.choices)
    arrival_on = forms.DateField(label=_("抵达日期"), widget=DATE)
    transport = forms.ChoiceField(label=_("交通方式"), choices=Transport.choices)
    transport_detail = forms.CharField(label=_("车次/航班/车牌"), max_length=50, required=False)
    commitment_signed = forms.BooleanField(label=_("已签署承诺书"), required=False)


class PolicyForm(forms.Form):
    kind = forms.ChoiceField(label=_("隔离方式"), choices=QuarantineKind.choices)
    days = forms.IntegerField(label=_("天数"), min_value=1, max_value=60)
    followup_kind = forms.ChoiceField(
        label=_("后续方式"), choices=[("", _("无")), *QuarantineKind.choices], required=False
    )
    followup_days = forms.IntegerField(label=_("后续天数"), min_value=0, max_value=60, required=False)
    test_days = forms.CharField(label=_("核酸检测日(第几天, 逗号分隔)"), max_length=100, required=False)
    whole_household = forms.BooleanField(label=_("同住人一并居家(本户其他在住成员同样临时居家管控)"), required=False)
    note = forms.CharField(label=_("说明"), max_length=200, required=False)


class PresetForm(forms.Form):
    preset = forms.ChoiceField(label=_("政策预设"), choices=[(p.code, p.label) for p in PRESETS.values()])


class ZoneSettingsForm(forms.Form):
    unit = forms.ChoiceField(label=_("分区单位"), choices=ZoneUnit.choices)
    sealed_days = forms.IntegerField(label=_("封控天数(最近阳性检出后)"), min_value=1, max_value=60)
    controlled_days = forms.IntegerField(label=_("管控截止天数"), min_value=2, max_value=90)


class HotlineForm(forms.Form):
    hotline = forms.CharField(
        label=_("居委会联系电话(居民居家管控时在住户页面看到)"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "placeholder": _("如: 021-65551234")}),
    )


class OverrideForm(forms.Form):
    level = forms.ChoiceField(label=_("分区等级"), choices=ZoneLevel.choices)
    reason = forms.CharField(label=_("原因"), max_length=200)
    expires_at = forms.DateTimeField(
        label=_("到期时间"), widget=DATETIME, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
    )
