"""The bulletin as a PNG for WeChat groups, drawn with Pillow from the frozen sections (ADR 0018).

750 px wide (a 375 pt phone screen at 2×, so WeChat shows it sharp), Noto Sans CJK SC from
Debian's fonts-noto-cjk. Drawn from the same masked JSON as the page: nothing the page would not
show can appear in the image.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from PIL import Image, ImageDraw, ImageFont

__all__ = ["WIDTH", "bulletin_png"]

WIDTH = 750
PAD = 36
_FONT_DIRS = ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/noto-cjk", "/usr/share/fonts/google-noto-cjk")
_SC_INDEX = 2  # Noto Sans CJK *.ttc: JP, KR, SC, TC, HK
INK, MUTED, ACCENT, RULE, BG, BAND = "#1f2933", "#52606d", "#b42318", "#d9e2ec", "#ffffff", "#fdecea"


@lru_cache(maxsize=16)
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = "NotoSansCJK-Bold.ttc" if bold else "NotoSansCJK-Regular.ttc"
    candidates = [getattr(settings, "JIAYUAN_BULLETIN_FONT", "")] + [str(Path(d) / name) for d in _FONT_DIRS]
    for path in candidates:
        if path and Path(path).exists():
            return ImageFont.truetype(path, size, index=_SC_INDEX if path.endswith(".ttc") else 0)
    raise RuntimeError("No CJK font: install Debian's fonts-noto-cjk (scripts/setup.sh does)")


def _wrap(text: str, font, width: int) -> list[str]:
    """Lines no wider than ``width``: Chinese breaks between any two characters."""
    lines: list[str] = []
    for paragraph in str(text).splitlines() or [""]:
        line = ""
        for ch in paragraph:
            if font.getlength(line + ch) > width and line:
                lines.append(line)
                line = ch
            else:
                line += ch
        lines.append(line)
    return lines


class _Canvas:
    """Draws top to bottom on a tall sheet, cropped to what was used at the end."""

    def __init__(self):
        self.image = Image.new("RGB", (WIDTH, 12000), BG)
        self.draw = ImageDraw.Draw(self.image)
        self.y = 0

    def text(self, text, size=26, color=INK, bold=False, indent=0, gap=10):
        font = _font(size, bold)
        for line in _wrap(text, font, WIDTH - 2 * PAD - indent):
            self.draw.text((PAD + indent, self.y), line, font=font, fill=color)
            self.y += int(size * 1.45)
        self.y += gap

    def row(self, left, right, sub=""):
        font, small = _font(26), _font(22)
        right_w = font.getlength(right)
        for i, line in enumerate(_wrap(left, font, WIDTH - 2 * PAD - right_w - 24)):
            self.draw.text((PAD, self.y), line, font=font, fill=INK)
            if i == 0:
                self.draw.text((WIDTH - PAD - right_w, self.y), right, font=_font(26, True), fill=INK)
            self.y += 38
        if sub:
            self.draw.text((WIDTH - PAD - small.getlength(sub), self.y - 4), sub, font=small, fill=MUTED)
            self.y += 30
        self.y += 6

    def rule(self):
        self.y += 6
        self.draw.line((PAD, self.y, WIDTH - PAD, self.y), fill=RULE, width=2)
        self.y += 20

    def png(self) -> bytes:
        out = io.BytesIO()
        self.image.crop((0, 0, WIDTH, min(self.y + PAD, self.image.height))).save(out, "PNG", optimize=True)
        return out.getvalue()


def bulletin_png(
    *, title: str, subtitle: str, note: str, sections: list[dict], notices: list[dict], footer: str
) -> bytes:
    c = _Canvas()
    c.draw.rectangle((0, 0, WIDTH, 150), fill=BAND)
    c.y = 32
    c.text(title, size=40, color=ACCENT, bold=True, gap=4)
    c.text(subtitle, size=24, color=MUTED, gap=0)
    c.y = 176
    if note:
        c.text(note, size=26, gap=8)
        c.rule()
    for section in sections:
        c.text(section["title"], size=30, bold=True, gap=6)
        for f in section["figures"]:
            label = f"{f['place']} {f['label']}" if f["place"] else f["label"]
            sub = (
                f"较昨日 {f['change']}"
                if f["change"]
                else ("昨日 " + f["previous_display"] if f["previous_display"] else "")
            )
            c.row(label, f["display"], sub)
        for line in section["lines"]:
            c.text("· " + line, size=24, color=MUTED, gap=2)
        c.rule()
    if notices:
        c.text("今日通知", size=30, bold=True, gap=6)
        for n in notices:
            c.text(f"【{n['kind_label']}】{n['title']}", size=26, gap=4)
        c.rule()
    c.text(footer, size=22, color=MUTED, gap=0)
    return c.png()
