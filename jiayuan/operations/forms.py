"""Forms of the operations pages (phone-first: few fields, big buttons)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from jiayuan.operations.choices import Assignee, CaseKind, FindingKind, PointKind
from jiayuan.operations.models import OperationsSettings


class FindingForm(forms.Form):
    kind = forms.ChoiceField(label=_("发现了什么"), choices=FindingKind.choices)
    building = forms.ModelChoiceField(label=_("楼栋"), queryset=None, required=False, empty_label=_("(公共区域)"))
    place = forms.CharField(label=_("地点"), max_length=200, required=False, help_text=_("如: 3号楼东侧围墙、南门"))
    note = forms.CharField(label=_("情况说明"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    run = forms.ModelChoiceField(label=_("属于哪次巡查"), queryset=None, required=False, empty_label=_("(不属于巡查)"))
    photo = forms.FileField(
        label=_("照片(可选)"), required=False, widget=forms.ClearableFileInput(attrs={"accept": "image/*"})
    )

    def __init__(self, *args, buildings, runs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = buildings
        self.fields["run"].queryset = runs


class AssignForm(forms.Form):
    assignee = forms.ChoiceField(label=_("交给"), choices=Assignee.choices)
    team = forms.ModelChoiceField(label=_("队伍"), queryset=None, required=False)
    note = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams


class NoteForm(forms.Form):
    note = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class PatrolForm(forms.Form):
    route = forms.CharField(label=_("路线或区域"), max_length=200)
    members = forms.CharField(label=_("巡查人员"), max_length=200, required=False)
    team = forms.ModelChoiceField(label=_("队伍"), queryset=None, required=False)

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams


class PointForm(forms.Form):
    compound = forms.ModelChoiceField(label=_("小区"), queryset=None)
    building = forms.ModelChoiceField(label=_("楼栋"), queryset=None, required=False, empty_label=_("(小区公共区域)"))
    kind = forms.ChoiceField(label=_("类别"), choices=PointKind.choices)
    name = forms.CharField(label=_("名称"), max_length=100, help_text=_("如: 3号楼电梯、南门"))

    def __init__(self, *args, compounds, buildings, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["compound"].queryset = compounds
        self.fields["building"].queryset = buildings


class SettingsForm(forms.ModelForm):
    class Meta:
        model = OperationsSettings
        fields = [
            "sealed_hours",
            "controlled_hours",
            "precaution_hours",
            "day_start",
            "day_end",
            "garbage_by",
            "task_hours",
        ]
        widgets = {
            "day_start": forms.TimeInput(attrs={"type": "time"}),
            "day_end": forms.TimeInput(attrs={"type": "time"}),
            "garbage_by": forms.TimeInput(attrs={"type": "time"}),
        }


class CaseForm(forms.Form):
    kind = forms.ChoiceField(label=_("类别"), choices=CaseKind.choices)
    building = forms.ModelChoiceField(label=_("楼栋"), queryset=None)
    unit = forms.CharField(label=_("单元"), max_length=16, required=False)
    room = forms.CharField(label=_("室号"), max_length=16)
    reported_by = forms.CharField(
        label=_("举报人"), max_length=100, required=False, help_text=_("如: 邻居来电、楼组长")
    )
    description = forms.CharField(label=_("情况"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, buildings, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = buildings


class CaseStepForm(forms.Form):
    beds = forms.IntegerField(label=_("床位数"), min_value=0, max_value=500, required=False)
    occupants = forms.IntegerField(label=_("居住人数"), min_value=0, max_value=500, required=False)
    action_note = forms.CharField(
        label=_("处置措施"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("如: 会同街道、派出所联合执法, 限期整改"),
    )
    beds_removed = forms.IntegerField(label=_("拆除床位"), min_value=0, max_value=500, required=False)
    moved_out = forms.IntegerField(label=_("搬离人数"), min_value=0, max_value=500, required=False)


class OccupantForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=64)
    id_number = forms.CharField(label=_("身份证号"), max_length=32, required=False)
    phone = forms.CharField(label=_("手机号"), max_length=32, required=False)
