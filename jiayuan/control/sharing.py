"""What the committee sends on from the 防疫汇总统计表 and the 家庭隔离分布图: a short text for
the WeChat group and an xlsx. Counts only (no names, no rooms), so a street officer may have
them too and the exports need no audit row: they hold nothing about any one resident.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.utils import timezone
from django.utils.translation import gettext as _

from jiayuan.control.choices import CaseStatus, ContactKind, HouseholdMark, QuarantineKind, ZoneLevel
from jiayuan.control.models import Case
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import restrict
from jiayuan.core.xlsx import Sheet, tables_xlsx

__all__ = [
    "isolation_map_share_text",
    "isolation_map_xlsx",
    "new_positive_count",
    "summary_share_text",
    "summary_xlsx",
]


def _totals(table: dict) -> dict[str, int]:
    return {code: v for (code, _label), v in zip(table["columns"], table["total"], strict=True)}


def new_positive_count(*, user, neighbourhood_id: int | None, on: dt.date) -> int:
    """Cases detected on ``on`` (voided ones excepted) in the user's VIEW_ZONES scope."""
    qs = restrict(Case.objects.all(), user, Action.VIEW_ZONES).filter(detected_on=on).exclude(status=CaseStatus.VOIDED)
    if neighbourhood_id:
        qs = qs.filter(neighbourhood_id=neighbourhood_id)
    return qs.count()


def _round_completion(*, user, neighbourhood_id: int | None, on: dt.date) -> int | None:
    """Sampling completion (%) of the neighbourhood's PCR round(s) of the day, through the
    user's screening scope; None when there is no round today or nothing the user may see."""
    from jiayuan.screening import selectors as screening_selectors  # screening imports control
    from jiayuan.screening.choices import RoundKind

    rounds = screening_selectors.round_list(user=user).filter(date=on, kind=RoundKind.PCR)
    if neighbourhood_id:
        rounds = rounds.filter(neighbourhood_id=neighbourhood_id)
    expected = missed = 0
    for round_ in rounds[:20]:
        total = screening_selectors.round_stats_cached(user=user, round_=round_)["total"]
        expected += total["expected"]
        missed += total["missed"]
    if not expected:
        return None
    return round(100 * (expected - missed) / expected)


def summary_share_text(*, user, table: dict, place: str, neighbourhood_id: int | None = None) -> str:
    """The one-tap message for the WeChat group, e.g. "今日新增阳性 2 人, 封控楼 1 栋, 核酸完成 91%".

    ``table`` is ``selectors.summary(...)`` for the same user and neighbourhood; ``place`` names
    what it covers."""
    on = table["on"]
    t = _totals(table)
    active_cases = sum(
        t.get(f"case_{s}", 0) for s in (CaseStatus.AT_HOME, CaseStatus.HOSPITAL, CaseStatus.MAKESHIFT_HOSPITAL)
    )
    lines = [
        _("【%(place)s 防疫日报 %(date)s】") % {"place": place, "date": on.strftime("%Y-%m-%d")},
        _("今日新增阳性 %(n)s 人; 在管病例 %(active)s 人(居家待转运 %(home)s 人)")
        % {
            "n": new_positive_count(user=user, neighbourhood_id=neighbourhood_id, on=on),
            "active": active_cases,
            "home": t.get(f"case_{CaseStatus.AT_HOME}", 0),
        },
        _("密接隔离中 %(close)s 人, 次密接 %(secondary)s 人")
        % {
            "close": t.get(f"contact_{ContactKind.CLOSE}", 0),
            "secondary": t.get(f"contact_{ContactKind.SECONDARY}", 0),
        },
        _("居家隔离 %(home)s 人, 集中隔离 %(central)s 人, 居家健康监测 %(monitor)s 人")
        % {
            "home": t.get(f"q_{QuarantineKind.HOME}", 0),
            "central": t.get(f"q_{QuarantineKind.CENTRALISED}", 0),
            "monitor": t.get(f"q_{QuarantineKind.HOME_MONITORING}", 0),
        },
        _("封控楼 %(sealed)s 栋, 管控楼 %(controlled)s 栋, 防范楼 %(precaution)s 栋")
        % {
            "sealed": t.get(f"zone_{ZoneLevel.SEALED}", 0),
            "controlled": t.get(f"zone_{ZoneLevel.CONTROLLED}", 0),
            "precaution": t.get(f"zone_{ZoneLevel.PRECAUTION}", 0),
        },
    ]
    percent = _round_completion(user=user, neighbourhood_id=neighbourhood_id, on=on)
    if percent is not None:
        lines.append(_("今日核酸完成 %(p)s%%") % {"p": percent})
    done, missing = t.get("checks_done", 0), t.get("checks_missing", 0)
    if done or missing:
        lines.append(
            _("隔离人员今日健康监测: 已测 %(done)s 次, 未测 %(missing)s 次") % {"done": done, "missing": missing}
        )
    return "\n".join(lines)


def summary_xlsx(*, table: dict, place: str) -> bytes:
    """The 防疫汇总统计表 as shown: one row per building (or neighbourhood) and the total."""
    by_building = table["by"] == "building"
    header = [_("楼栋") if by_building else _("居民区")]
    if by_building:
        header.append(_("分区"))
    header += [f"{group_label(code)}{label}" for code, label in table["columns"]]
    rows = []
    for row in table["rows"]:
        values = [row["label"]]
        if by_building:
            values.append(str(ZoneLevel(row["level"]).label) if row["level"] else "")
        rows.append(values + list(row["values"]))
    total = [_("合计")] + ([""] if by_building else []) + list(table["total"])
    title = _("防疫汇总统计表 · %(place)s · %(date)s") % {"place": place, "date": table["on"].strftime("%Y-%m-%d")}
    return tables_xlsx([Sheet(name=_("防疫汇总统计表"), header=header, rows=rows, total=total, title=title)])


def group_label(code: str) -> str:
    """A short prefix that keeps a column unambiguous without its group header (密接 vs 隔离)."""
    if code.startswith("zone_"):
        return _("楼栋") + "·"
    if code.startswith("checks_"):
        return _("今日监测") + "·"
    if code.startswith("q_"):
        return _("隔离中") + "·"
    return ""


def _map_counts(data: dict) -> tuple[Counter, Counter, list[tuple[str, list[str]]]]:
    """(households per mark, buildings per level, [(level label, [building names])])."""
    marks: Counter = Counter()
    levels: Counter = Counter()
    named: dict[str, list[str]] = {}
    several = len(data["compounds"]) > 1
    for c in data["compounds"]:
        for b in c["buildings"]:
            levels[b["level"]] += 1
            if b["level"] != ZoneLevel.PRECAUTION:
                name = f"{c['obj'].name} {b['obj'].name}" if several else b["obj"].name
                named.setdefault(b["level"], []).append(name)
            for _floor, cells in b["rows"]:
                for h in cells:
                    if h["mark"]:
                        marks[h["mark"]] += 1
    listed = [
        (str(ZoneLevel(lvl).label), named[lvl]) for lvl in (ZoneLevel.SEALED, ZoneLevel.CONTROLLED) if lvl in named
    ]
    return marks, levels, listed


def isolation_map_share_text(*, data: dict, place: str, on: dt.date | None = None) -> str:
    """Which buildings are sealed or controlled, and how many households of each mark; no rooms."""
    on = on or timezone.localdate()
    marks, levels, listed = _map_counts(data)
    # With ``focus`` the quiet buildings are left out of ``compounds``; ``counts`` has them all.
    levels = Counter({lvl: n for lvl, _label, n in data.get("counts", [])}) or levels
    lines = [_("【%(place)s 家庭隔离分布 %(date)s】") % {"place": place, "date": on.strftime("%Y-%m-%d")}]
    lines.append(
        _("封控楼 %(sealed)s 栋, 管控楼 %(controlled)s 栋, 防范楼 %(precaution)s 栋")
        % {
            "sealed": levels[ZoneLevel.SEALED],
            "controlled": levels[ZoneLevel.CONTROLLED],
            "precaution": levels[ZoneLevel.PRECAUTION],
        }
    )
    for label, names in listed:
        lines.append(f"{label}: {'、'.join(names)}")
    total = sum(marks.values())
    if total:
        parts = "、".join(f"{HouseholdMark(m).label} {marks[m]} 户" for m in HouseholdMark.values if marks[m])
        lines.append(_("重点户 %(n)s 户: %(parts)s") % {"n": total, "parts": parts})
    else:
        lines.append(_("今日没有重点户"))
    return "\n".join(lines)


def isolation_map_xlsx(*, data: dict, place: str, on: dt.date | None = None) -> bytes:
    """Per building: level, households, and households of each mark (counts only)."""
    on = on or timezone.localdate()
    mark_codes = list(HouseholdMark.values)
    header = [_("小区"), _("楼栋"), _("分区"), _("住户数"), _("重点户"), *[HouseholdMark(m).label for m in mark_codes]]
    rows = []
    totals = Counter()
    for c in data["compounds"]:
        for b in c["buildings"]:
            cells = [h for _floor, hs in b["rows"] for h in hs]
            per = Counter(h["mark"] for h in cells if h["mark"])
            values = [len(cells), sum(per.values()), *[per[m] for m in mark_codes]]
            rows.append([c["obj"].name, b["obj"].name, str(b["level_label"]), *values])
            for i, v in enumerate(values):
                totals[i] += v
    total = [_("合计"), "", "", *[totals[i] for i in range(2 + len(mark_codes))]]
    title = _("家庭隔离分布 · %(place)s · %(date)s") % {"place": place, "date": on.strftime("%Y-%m-%d")}
    return tables_xlsx(
        [
            Sheet(
                name=_("家庭隔离分布"), header=header, rows=rows, total=total, title=title, widths={1: 14, 2: 12, 3: 10}
            )
        ]
    )
