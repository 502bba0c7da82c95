"""QR codes as Jiayuan prints and shows them.

Always a regular QR code, never a Micro QR: ``segno.make`` picks Micro QR for short texts (a
resident's sampling code ``R12-ABCDEFGH`` is short), and the scanners people actually have —
WeChat, phone cameras, ZXing, the browser's BarcodeDetector — do not read Micro QR.
"""

from __future__ import annotations

import functools

import segno

__all__ = ["qr_code", "qr_svg"]


def qr_code(text: str) -> segno.QRCode:
    """A regular QR code (error correction M: a creased or smudged card still scans)."""
    return segno.make_qr(text, error="m")


@functools.lru_cache(maxsize=1024)
def qr_svg(text: str, scale: int = 5, *, omitsize: bool = True) -> str:
    """Inline SVG, black on white. Kept for the texts drawn last (the same residents' sampling
    codes are drawn on every visit to their household's page; choosing a code's mask is most of
    a household page's work otherwise)."""
    return qr_code(text).svg_inline(scale=scale, dark="#000", light="#fff", omitsize=omitsize)
