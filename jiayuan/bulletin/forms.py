from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiayuan.bulletin.choices import Audience, NoticeKind
from jiayuan.places.models import Building, Compound


class ComposeForm(forms.Form):
    neighbourhood = forms.ModelChoiceField(label=_("居民区"), queryset=None, empty_label=None)
    date = forms.DateField(label=_("日期"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))

    def __init__(self, *args, neighbourhoods, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["neighbourhood"].queryset = neighbourhoods
        self.fields["date"].initial = timezone.localdate()
        if neighbourhoods.count() == 1:
            self.fields["neighbourhood"].widget = forms.HiddenInput()
            self.fields["neighbourhood"].initial = neighbourhoods.first().pk


class PublishForm(forms.Form):
    note = forms.CharField(
        label=_("编者按"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("写给居民的一段话:今天的重点、感谢谁、明天要做什么。不要写姓名和门牌。"),
    )
    notices = forms.MultipleChoiceField(
        label=_("随日报发布的通知"), required=False, widget=forms.CheckboxSelectMultiple, choices=()
    )

    def __init__(self, *args, notices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["notices"].choices = [(str(n.pk), f"【{n.get_kind_display()}】{n.title}") for n in notices]


class NoticeForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=NoticeKind.choices)
    title = forms.CharField(label=_("标题"), max_length=100)
    body = forms.CharField(label=_("正文"), required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 6}))
    articles = forms.CharField(
        label=_("条款(居民公约,一行一条)"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    audience = forms.ChoiceField(label=_("对象"), choices=Audience.choices, widget=forms.RadioSelect)
    compounds = forms.ModelMultipleChoiceField(
        label=_("小区"), queryset=Compound.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    buildings = forms.ModelMultipleChoiceField(
        label=_("楼栋"), queryset=Building.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    requires_ack = forms.BooleanField(label=_("需要各户回执(打开即算已读)"), required=False)

    def __init__(self, *args, compounds, buildings, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["audience"].initial = Audience.NEIGHBOURHOOD
        self.fields["compounds"].queryset = compounds
        self.fields["buildings"].queryset = buildings
        self.fields["buildings"].label_from_instance = lambda b: f"{b.compound.name} {b.name}"

    def article_list(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data.get("articles", "").splitlines() if line.strip()]
