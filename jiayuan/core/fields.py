"""Model fields for personal data."""

from __future__ import annotations

from django.db import models

from jiayuan.core import crypto


class EncryptedTextField(models.TextField):
    """A text value stored as a Fernet token; Python code only ever sees plaintext.

    Empty strings are stored as empty strings (nothing to protect, and it keeps "not given"
    distinguishable without decrypting). The field cannot be filtered on: use the keyed hash
    stored beside it.
    """

    description = "Text encrypted at rest (MultiFernet)"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)
