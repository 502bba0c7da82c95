"""Sampling codes (核酸码): short, printable, scannable, unguessable, one per resident.

``R<resident id>-<8 characters of a keyed HMAC>``: the id makes the lookup O(1) (a primary-key
fetch), the HMAC under ``JIAYUAN_HASH_KEY`` makes a code impossible to forge or guess from
another one (32^8 ≈ 10^12 possibilities per resident). The alphabet has no 0/O or 1/I so a
printed card can be typed without mistakes. No table is needed.
"""

from __future__ import annotations

import hmac
import re

from jiayuan.core import crypto

__all__ = ["looks_like_resident_code", "parse_sampling_code", "sampling_code"]

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_PATTERN = re.compile(r"^R(\d{1,12})-([A-Z0-9]{8})$")


def _check(resident_id: int) -> str:
    digest = bytes.fromhex(crypto.keyed_hash(f"screening.sampling:{resident_id}"))
    return "".join(_ALPHABET[b % 32] for b in digest[:8])


def sampling_code(resident_id: int) -> str:
    return f"R{resident_id}-{_check(resident_id)}"


def _clean(text: str) -> str:
    return (text or "").strip().upper().replace(" ", "")


def looks_like_resident_code(text: str) -> bool:
    """Whether a scanned text is shaped like a sampling code (else it is a tube barcode)."""
    return bool(re.match(r"^R\d{1,12}-", _clean(text)))


def parse_sampling_code(text: str) -> int | None:
    """The resident id a code names, or None for a malformed or forged code."""
    m = _PATTERN.match(_clean(text)[:40])
    if not m:
        return None
    resident_id = int(m.group(1))
    if not hmac.compare_digest(_check(resident_id), m.group(2)):
        return None
    return resident_id
