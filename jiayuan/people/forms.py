"""Shape validation for the resident form; the rules themselves are in people.services."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from jiayuan.core.forms import apply_service_errors
from jiayuan.people import normalize
from jiayuan.people.choices import Gender, IdType, Presence, Relation, Residency, Tag
from jiayuan.people.importer import MSG_EXTENSION


class ResidentForm(forms.Form):
    building = forms.ModelChoiceField(queryset=None, label=_("楼栋"), empty_label=_("请选择楼栋"))
    unit = forms.CharField(label=_("单元"), required=False, max_length=16)
    room = forms.CharField(label=_("室号"), max_length=16)
    name = forms.CharField(label=_("姓名"), max_length=64)
    id_type = forms.ChoiceField(label=_("证件类型"), choices=IdType.choices, initial=IdType.MAINLAND)
    id_number = forms.CharField(label=_("证件号码"), required=False, max_length=40)
    phone = forms.CharField(label=_("联系电话"), required=False, max_length=32)
    gender = forms.ChoiceField(label=_("性别"), choices=Gender.choices, initial=Gender.UNKNOWN)
    birth_date = forms.DateField(label=_("出生日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    relation_to_head = forms.ChoiceField(label=_("与户主关系"), choices=Relation.choices, initial=Relation.HEAD)
    residency = forms.ChoiceField(label=_("人员类型"), choices=Residency.choices, initial=Residency.OWNER)
    presence = forms.ChoiceField(label=_("在住状态"), choices=Presence.choices, initial=Presence.PRESENT)
    tags = forms.MultipleChoiceField(
        label=_("标签"), choices=Tag.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    notes = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, buildings, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = buildings
        self.fields["building"].label_from_instance = lambda b: f"{b.compound.name} {b.name}"
        self.fields["id_number"].widget.attrs["autocomplete"] = "off"
        self.fields["phone"].widget.attrs.update({"inputmode": "tel", "autocomplete": "off"})

    def clean_room(self):
        try:
            return normalize.parse_room(self.cleaned_data["room"])
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc

    def clean_unit(self):
        try:
            return normalize.parse_unit(self.cleaned_data["unit"])
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc

    def add_service_errors(self, exc: ValidationError) -> None:
        """Show a service's ValidationError beside the fields it names."""
        apply_service_errors(self, exc)


class ImportUploadForm(forms.Form):
    neighbourhood = forms.ModelChoiceField(queryset=None, label=_("居民区"))
    file = forms.FileField(label=_("名单文件 (.xlsx 或 .csv)"))

    def __init__(self, *args, neighbourhoods, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["neighbourhood"].queryset = neighbourhoods
        self._only = neighbourhoods.first() if neighbourhoods.count() == 1 else None
        if self._only is not None:
            # One neighbourhood in scope (the usual case): nothing to choose.
            self.fields["neighbourhood"].required = False
            self.fields["neighbourhood"].widget = forms.HiddenInput()

    def clean_neighbourhood(self):
        return self.cleaned_data.get("neighbourhood") or self._only

    def clean_file(self):
        f = self.cleaned_data["file"]
        if not f.name.lower().endswith((".xlsx", ".csv")):
            raise ValidationError(MSG_EXTENSION)
        if f.size > settings.JIAYUAN_IMPORT_MAX_BYTES:
            raise ValidationError(_("文件过大(最大 50MB)"))
        return f
