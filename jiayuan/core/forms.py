"""Form helpers shared by every app's pages."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

__all__ = ["apply_service_errors"]


def apply_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ``ValidationError`` beside the fields it names (others at the top)."""
    if hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, exc.messages)
