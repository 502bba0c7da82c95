"""Forms of the volunteers pages (the rules are the services')."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiayuan.volunteers.choices import PlaceKind, Skill, TeamKind, VolunteerStatus

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class VolunteerForm(forms.Form):
    """Staff add a volunteer: a resident (by the roster id shown on the resident's page) or an
    outsider by name and phone."""

    resident = forms.IntegerField(
        label=_("居民编号"), required=False, min_value=1, help_text=_("本居民区居民: 填居民页上的编号; 社区外人员留空")
    )
    name = forms.CharField(label=_("姓名"), max_length=64, required=False)
    phone = forms.CharField(label=_("联系电话"), max_length=40, required=False)
    skills = forms.MultipleChoiceField(
        label=_("技能"), choices=Skill.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    availability = forms.CharField(label=_("可服务时间"), max_length=200, required=False)
    party_member = forms.BooleanField(label=_("党员"), required=False)
    dual_registration_org = forms.CharField(label=_("双报到单位"), max_length=200, required=False)
    dual_registration_date = forms.DateField(label=_("双报到日期"), required=False, widget=DATE)
    commitment_signed = forms.BooleanField(label=_("已签署志愿服务承诺书"), required=False)
    note = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class VolunteerEditForm(forms.Form):
    phone = forms.CharField(label=_("联系电话(社区外志愿者)"), max_length=40, required=False)
    skills = VolunteerForm.base_fields["skills"]
    availability = VolunteerForm.base_fields["availability"]
    party_member = VolunteerForm.base_fields["party_member"]
    dual_registration_org = VolunteerForm.base_fields["dual_registration_org"]
    dual_registration_date = VolunteerForm.base_fields["dual_registration_date"]
    commitment_signed = VolunteerForm.base_fields["commitment_signed"]
    note = VolunteerForm.base_fields["note"]

    def __init__(self, *args, outsider: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not outsider:
            del self.fields["phone"]


class ApplyForm(forms.Form):
    """A resident applies through the household link."""

    resident = forms.TypedChoiceField(label=_("谁来报名"), coerce=int)
    skills = forms.MultipleChoiceField(
        label=_("技能"), choices=Skill.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    availability = forms.CharField(
        label=_("可服务时间"), max_length=200, required=False, help_text=_("例如: 工作日晚上、周末全天")
    )
    party_member = forms.BooleanField(label=_("党员"), required=False)
    dual_registration_org = forms.CharField(label=_("双报到单位(在职党员)"), max_length=200, required=False)
    commitment_signed = forms.BooleanField(
        label=_("我承诺: 服从安排, 做好个人防护; 身体不适、被隔离或所住楼栋封控时不上岗并及时告知。"), required=True
    )

    def __init__(self, *args, residents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resident"].choices = [(r.pk, r.name) for r in residents]


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("改为"), choices=VolunteerStatus.choices)
    reason = forms.CharField(label=_("说明"), max_length=200, required=False)


class TeamForm(forms.Form):
    name = forms.CharField(label=_("队名"), max_length=64)
    kind = forms.ChoiceField(label=_("任务类别"), choices=TeamKind.choices)
    requires_antigen_today = forms.BooleanField(label=_("上岗须当日抗原阴性"), required=False)
    description = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class MemberForm(forms.Form):
    volunteer = forms.TypedChoiceField(label=_("志愿者"), coerce=int)
    is_leader = forms.BooleanField(label=_("设为队长"), required=False)

    def __init__(self, *args, volunteers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["volunteer"].choices = [(v.pk, v.name) for v in volunteers]


class ShiftForm(forms.Form):
    date = forms.DateField(label=_("日期"), widget=DATE)
    start = forms.TimeField(label=_("开始"), widget=TIME)
    end = forms.TimeField(label=_("结束"), widget=TIME, help_text=_("结束早于开始时, 班次到次日结束(夜班)"))
    place_kind = forms.ChoiceField(label=_("地点类型"), choices=PlaceKind.choices, initial=PlaceKind.GATE)
    building = forms.TypedChoiceField(label=_("楼栋(楼内服务)"), coerce=int, required=False, empty_value=None)
    place_ref = forms.ChoiceField(
        label=_("门岗(地点类型为门岗时)"),
        required=False,
        help_text=_("门岗班次选本居民区的门岗, 门岗页面会显示今日值守"),
    )
    place = forms.CharField(label=_("地点"), max_length=200, required=False, help_text=_("例如: 3号楼、核酸点"))
    needed = forms.IntegerField(label=_("需要人数"), min_value=1, max_value=500, initial=2)
    note = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, buildings=(), places=None, **kwargs):
        """``places``: ``{place kind: [(ref, label)]}``, the real places other apps provide
        (``core.extensions.place_choices``); a kind with places must pick one of them."""
        super().__init__(*args, **kwargs)
        self.fields["building"].choices = [("", "—"), *((b.pk, b.name) for b in buildings)]
        self.fields["date"].initial = timezone.localdate()
        self.places = {kind: list(choices) for kind, choices in (places or {}).items() if choices}
        labels = dict(PlaceKind.choices)
        self.fields["place_ref"].choices = [
            ("", "—"),
            *((labels.get(kind, kind), choices) for kind, choices in self.places.items()),
        ]
        if not self.places:
            del self.fields["place_ref"]

    def clean(self):
        data = super().clean()
        kind, ref = data.get("place_kind"), data.get("place_ref") or ""
        # The page asks for one of the offered places (whether a ref fits its kind and
        # neighbourhood is the service's rule, for the API too).
        if self.places.get(kind) and not ref:
            self.add_error("place_ref", _("请选择%(kind)s") % {"kind": dict(PlaceKind.choices)[kind]})
        return data


class AssignForm(forms.Form):
    volunteer = forms.TypedChoiceField(label=_("志愿者"), coerce=int)

    def __init__(self, *args, volunteers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["volunteer"].choices = [(v.pk, v.name) for v in volunteers]


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("从"), widget=DATE, required=False)
    end = forms.DateField(label=_("到"), widget=DATE, required=False)

    def period(self) -> tuple[dt.date, dt.date]:
        today = timezone.localdate()
        data = self.cleaned_data if self.is_valid() else {}
        end = data.get("end") or today
        start = data.get("start") or end.replace(day=1)
        if start > end:
            start, end = end, start
        return start, end
