"""Form helpers shared by every app's pages."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

__all__ = ["AuditFilterForm", "apply_service_errors"]


def apply_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ``ValidationError`` beside the fields it names (others at the top)."""
    if hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, exc.messages)


class AuditFilterForm(forms.Form):
    """The filters of the 操作记录 page: who, which kind of action, from and to which day."""

    actor = forms.TypedChoiceField(label=_("操作人"), required=False, coerce=int, empty_value=None)
    kind = forms.ChoiceField(label=_("类别"), required=False)
    date_from = forms.DateField(label=_("从"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("到"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, actors=(), kinds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [("", _("所有人")), *((u.pk, str(u)) for u in actors)]
        self.fields["kind"].choices = [("", _("所有类别")), *((k.key, k.label) for k in kinds)]
