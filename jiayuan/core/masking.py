"""Masking of personal data for display: ``3101**********123X``, ``138****5678``."""

from __future__ import annotations

__all__ = ["mask_id_number", "mask_name", "mask_phone"]


def mask_id_number(value: str) -> str:
    """Keep the first 4 and last 4 characters of an ID number; star the rest."""
    if not value:
        return ""
    if len(value) <= 8:
        return value[:1] + "*" * (len(value) - 1)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str) -> str:
    """Mobile ``13812345678`` → ``138****5678``; landline ``021-64001234`` → ``021-****1234``."""
    if not value:
        return ""
    if "-" in value:
        area, number = value.split("-", 1)
        return f"{area}-{'*' * max(len(number) - 4, 0)}{number[-4:]}"
    if len(value) >= 11:
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    return "*" * max(len(value) - 4, 0) + value[-4:]


def mask_name(value: str) -> str:
    """``张三丰`` → ``张**``: for aggregate views where a name must not be read."""
    if not value:
        return ""
    return value[0] + "*" * (len(value) - 1)
