"""What the supplies services share: bounds on numbers from outside, the idempotency key's
cleaning, the sold-out error, the household link's actor label, the go-out check."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from jiayuan.control.selectors import household_may_go_out
from jiayuan.places.models import Household
from jiayuan.supplies.choices import (
    GroupBuyStatus,
)

S = GroupBuyStatus
# States in which a group buy counts against the per-category daily limit.
LIVE_STATES = (S.OPEN, S.CLOSED, S.ARRIVED, S.DISINFECTED, S.SORTED, S.DELIVERED)


# Bounds on numbers from outside, so a huge id or quantity is a field error, not a database
# overflow (SQLite refuses ints over 2**63; PostgreSQL's integer columns stop at 2**31).
MAX_ID = 2**53
MAX_QUANTITY = 10_000


def clean_idempotency_key(key: str | None, *, field: str = "idempotency_key") -> str:
    """A client's idempotency key: printable text up to 200 characters (PostgreSQL refuses NUL)."""
    key = (key or "").strip()
    if len(key) > 200 or any(not ch.isprintable() for ch in key):
        raise ValidationError({field: ["幂等键只能是200个字符以内的可打印字符"]})
    return key


class SoldOutError(ValidationError):
    """An order or booking asked for more than is left (HTTP 409 in the API)."""


def link_actor(link) -> str:
    """The audit label of a household acting through its link."""
    return f"household-link:{link.pk}"


def require_may_go_out(household: Household, *, field: str) -> None:
    """Refuse a "come and pick up" for a household that may not go out (sealed building, home
    quarantine, a case at home): control's ``household_may_go_out`` decides, for every flow."""
    may, reason = household_may_go_out(household)
    if not may:
        raise ValidationError({field: [reason]})


def _positive_int(value, field: str) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError({field: ["应为正整数"]}) from exc
    if n <= 0:
        raise ValidationError({field: ["应为正整数"]})
    return n
