"""Who acts: every service takes an ``actor`` — a signed-in user, or a label such as
``household-link:12`` for a household acting through its link, or None for a system job."""

from __future__ import annotations

__all__ = ["acting_user"]


def acting_user(actor):
    """The user behind ``actor`` (for ``created_by``-style columns), None when it is not a user."""
    return actor if getattr(actor, "is_authenticated", False) else None
