"""Forms of the care pages (staff and household link)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from jiayuan.care.choices import Category, HandedOver, TreatmentKind, Urgency
from jiayuan.care.models import CareSettings

WEEKDAYS = [
    (1, _("周一")),
    (2, _("周二")),
    (3, _("周三")),
    (4, _("周四")),
    (5, _("周五")),
    (6, _("周六")),
    (7, _("周日")),
]


class PhoneLogForm(forms.Form):
    """The phone log: who called (household or resident), the topic, a note."""

    who = forms.CharField(
        label=_("住户/居民"),
        max_length=120,
        widget=forms.TextInput(
            attrs={"list": "care-households", "autocomplete": "off", "placeholder": _("输入楼号或室号")}
        ),
    )
    category = forms.ChoiceField(label=_("事项"), choices=Category.choices, widget=forms.RadioSelect)
    urgency = forms.ChoiceField(
        label=_("紧急程度"), choices=Urgency.choices, initial=Urgency.TODAY, widget=forms.RadioSelect
    )
    description = forms.CharField(label=_("记录"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=200)

    def __init__(self, *args, resolve, **kwargs):
        """``resolve(label)``: the ``(household id, resident id or None)`` a label of the list
        names, or None (``care.selectors.who_resolve``)."""
        super().__init__(*args, **kwargs)
        self.resolve = resolve

    def clean_who(self):
        found = self.resolve(" ".join(self.cleaned_data["who"].split()))
        if found is None:
            raise forms.ValidationError(_("请从列表中选择住户或居民"))
        return found


class HouseholdRequestForm(forms.Form):
    resident = forms.TypedChoiceField(label=_("为谁"), coerce=int, required=False, empty_value=None)
    category = forms.ChoiceField(label=_("什么事"), choices=Category.choices, widget=forms.RadioSelect)
    urgency = forms.ChoiceField(
        label=_("多急"), choices=Urgency.choices, initial=Urgency.ROUTINE, widget=forms.RadioSelect
    )
    description = forms.CharField(
        label=_("说明"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    medicine = forms.CharField(label=_("药品名称(代配药)"), max_length=100, required=False)
    quantity = forms.CharField(label=_("数量"), max_length=40, required=False)
    hospital = forms.CharField(label=_("医院或药店"), max_length=100, required=False)
    handed_over = forms.ChoiceField(
        label=_("交给跑腿人的凭证"), choices=HandedOver.choices, initial=HandedOver.NONE, required=False
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=200)

    def __init__(self, *args, residents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resident"].choices = [("", _("全家/不指定"))] + [(r.pk, r.name) for r in residents]

    def clean(self):
        data = super().clean()
        if data.get("category") == Category.MEDICINE:
            for field in ("medicine", "quantity", "hospital"):
                if not data.get(field):
                    self.add_error(field, _("代配药请填写药品、数量和医院"))
        elif not (data.get("description") or "").strip():
            self.add_error("description", _("请写一句需要什么帮助"))
        return data


class SuggestionForm(forms.Form):
    text = forms.CharField(
        label=_("您的意见或愿望"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("例如:头发太长了, 想理发")}),
    )


class ErrandItemForm(forms.Form):
    name = forms.CharField(label=_("药品"), max_length=100)
    quantity = forms.CharField(label=_("数量"), max_length=40)
    hospital = forms.CharField(label=_("医院/药店"), max_length=100)
    handed_over = forms.ChoiceField(label=_("凭证"), choices=HandedOver.choices, initial=HandedOver.NONE)


class ScheduleForm(forms.Form):
    resident = forms.TypedChoiceField(label=_("居民"), coerce=int)
    kind = forms.ChoiceField(label=_("治疗"), choices=TreatmentKind.choices)
    hospital = forms.CharField(label=_("医院"), max_length=100)
    weekdays = forms.TypedMultipleChoiceField(
        label=_("每周"), choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    time = forms.TimeField(label=_("出发时间"), widget=forms.TimeInput(attrs={"type": "time"}))
    transport = forms.CharField(label=_("交通"), max_length=100, required=False)
    escort = forms.TypedChoiceField(label=_("陪同"), coerce=int, required=False, empty_value=None)
    pass_note = forms.CharField(label=_("出行证明"), max_length=200, required=False)

    def __init__(self, *args, residents=(), escorts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resident"].choices = [(r.pk, f"{r.household} {r.name}") for r in residents]
        self.fields["escort"].choices = [("", _("不需要"))] + [(u.pk, str(u)) for u in escorts]


class EmergencyForm(forms.Form):
    resident = forms.TypedChoiceField(label=_("居民"), coerce=int)
    reason = forms.CharField(label=_("情况"), max_length=200)
    hospital = forms.CharField(label=_("送往医院"), max_length=100, required=False)

    def __init__(self, *args, residents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resident"].choices = [(r.pk, f"{r.household} {r.name}") for r in residents]


class SettingsForm(forms.ModelForm):
    class Meta:
        model = CareSettings
        fields = [
            "accept_emergency_minutes",
            "accept_today_minutes",
            "accept_routine_minutes",
            "done_emergency_hours",
            "done_today_hours",
            "done_routine_hours",
        ]

    visit_elderly_alone = forms.IntegerField(label=_("独居老人: 每几天走访一次"), min_value=1, max_value=30)
    visit_elderly_no_family = forms.IntegerField(label=_("孤寡老人: 每几天走访一次"), min_value=1, max_value=30)
    visit_disabled = forms.IntegerField(label=_("残障: 每几天走访一次"), min_value=1, max_value=30)
    visit_bedridden = forms.IntegerField(label=_("卧床: 每几天走访一次"), min_value=1, max_value=30)
