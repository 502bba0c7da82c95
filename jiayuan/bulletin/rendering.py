"""The one place where the apps' sections become what the bulletin shows and stores.

Every output of a bulletin (its page, image, print page, API answer, the frozen JSON of a
published one) is made from ``section_json``'s result, so the personal-data rule lives here
only: a figure that counts people (``BulletinFigure.people``) and is above 0 but below
``JIAYUAN_BULLETIN_SMALL_COUNT`` (3 unless set) is stored and shown as "少量", its number never
kept; the change since yesterday is then not given either (it would reveal the number). Sections
name buildings and gates, never a person: the apps' section functions only read counts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from jiayuan.core import extensions
from jiayuan.core.extensions import BulletinFigure, BulletinSection

__all__ = ["SMALL", "compose_sections", "figure_json", "section_json", "small_count_threshold"]

SMALL = "少量"
BULLETIN_LANGUAGE = "zh-hans"  # the bulletin is for the residents' groups: frozen in Chinese


def small_count_threshold() -> int:
    return int(getattr(settings, "JIAYUAN_BULLETIN_SMALL_COUNT", 3))


def _masked(value, people: bool) -> bool:
    return people and value is not None and 0 < value < small_count_threshold()


def _number(value) -> str:
    if isinstance(value, float):
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return str(value)


def _change(value, previous, unit: str = "") -> str:
    if value is None or previous is None:
        return ""
    diff = value - previous
    if abs(diff) < 1e-9:
        return _("持平")
    text = ("+" if diff > 0 else "−") + _number(abs(diff))
    return text + _("个百分点") if unit == "%" else text


def figure_json(fig: BulletinFigure) -> dict:
    """A figure as stored and shown: small counts of people masked, with the change since yesterday."""
    value_small = _masked(fig.value, fig.people)
    previous_small = _masked(fig.previous, fig.people)
    unit = str(fig.unit or "")
    if fig.value is None:
        display = "—"
    elif value_small:
        display = SMALL
    else:
        display = _number(fig.value) + unit
    masked = value_small or previous_small
    return {
        "key": fig.key,
        "label": str(fig.label),
        "place": fig.place,
        "unit": unit,
        "people": fig.people,
        "value": None if value_small else fig.value,
        "previous": None if previous_small else fig.previous,
        "display": display,
        "previous_display": SMALL if previous_small else ("" if fig.previous is None else _number(fig.previous) + unit),
        "change": "" if masked else _change(fig.value, fig.previous, unit),
    }


def _figure_text(f: dict) -> str:
    label = f"{f['place']}{f['label']}" if f["place"] else f["label"]
    text = f"{label} {f['display']}"
    if f["change"]:
        text += _("(较昨日 %(change)s)") % {"change": f["change"]}
    elif f["previous_display"] == SMALL:
        text += _("(昨日少量)")
    return text


def section_json(section: BulletinSection) -> dict:
    figures = [figure_json(f) for f in section.figures]
    lines = [str(line) for line in section.lines]
    text = ";".join(_figure_text(f) for f in figures)
    if lines:
        text = ("。".join([text, *lines]) if text else "。".join(lines)) + "。"
    elif text:
        text += "。"
    return {"key": section.key, "title": str(section.title), "text": text, "figures": figures, "lines": lines}


def compose_sections(neighbourhood, day: dt.date, yesterday: list[dict] | None = None) -> list[dict]:
    """Every registered section for the neighbourhood and day, in order, as stored (in Chinese).

    A figure whose app cannot say the day before (a count without history, such as residents
    present) takes it from ``yesterday``'s bulletin, when there is one and it showed the number."""
    known = {(s["key"], f["key"]): f["value"] for s in yesterday or () for f in s["figures"]}
    result = []
    with translation.override(BULLETIN_LANGUAGE):
        for _key, fn in extensions.bulletin_sections():
            section = fn(neighbourhood, day)
            if section is None or not (section.figures or section.lines):
                continue
            figures = tuple(
                replace(f, previous=known.get((section.key, f.key))) if f.previous is None else f
                for f in section.figures
            )
            result.append(section_json(replace(section, figures=figures)))
    return result
