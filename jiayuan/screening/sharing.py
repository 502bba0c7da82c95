"""What the committee sends on from a round's progress page: a short text for the WeChat group
and an xlsx. Counts per building only (no names, no rooms, no leaders' names), so the export
holds nothing about any one resident and needs no audit row.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from jiayuan.core.xlsx import Sheet, tables_xlsx
from jiayuan.screening.models import Round

__all__ = ["round_progress_xlsx", "round_share_text"]

_MOST_MISSED = 5  # buildings named in the text, most missed first


def _title(round_: Round) -> str:
    return _("%(place)s %(date)s %(kind)s") % {
        "place": round_.neighbourhood.name,
        "date": round_.date.strftime("%Y-%m-%d"),
        "kind": round_.get_kind_display(),
    }


def round_share_text(*, round_: Round, stats: dict) -> str:
    """E.g. "应检 1200 人, 已采 1090 人, 未采 110 人, 核酸完成 91%" and the buildings with the most
    residents not yet sampled. ``stats`` is ``selectors.round_stats`` for the same user."""
    t = stats["total"]
    lines = [
        _("【%(title)s 进度】") % {"title": _title(round_)},
        _("应检 %(expected)s 人, 已采 %(sampled)s 人, 未采 %(missed)s 人, 免检 %(exempt)s 人; 完成 %(p)s%%")
        % {
            "expected": t["expected"],
            "sampled": t["sampled"],
            "missed": t["missed"],
            "exempt": t["exempt"],
            "p": t["percent"],
        },
    ]
    if t.get("tubes"):
        lines.append(
            _("试管 %(tubes)s 管, 阳性管 %(positive)s 管, 待单采复核 %(retests)s 人")
            % {"tubes": t["tubes"], "positive": t.get("positive_tubes", 0), "retests": t["retests"]}
        )
    behind = sorted(
        (b for b in stats["buildings"] if b["missed"] and b["building"] is not None),
        key=lambda b: (-b["missed"], b["name"]),
    )[:_MOST_MISSED]
    if behind:
        lines.append(
            _("未采较多: %(list)s")
            % {"list": "、".join(_("%(name)s %(n)s 人") % {"name": b["name"], "n": b["missed"]} for b in behind)}
        )
        lines.append(_("请各楼组长提醒未采居民尽快到采样点, 行动不便的请联系楼组长上门采样。"))
    elif t["expected"]:
        lines.append(_("应检人员已全部采样, 感谢大家配合!"))
    return "\n".join(lines)


def round_progress_xlsx(*, round_: Round, stats: dict) -> bytes:
    header = [_("楼栋"), _("应检"), _("已采"), _("未采"), _("免检"), _("复核"), _("进度(%)")]
    rows = [
        [b["name"], b["expected"], b["sampled"], b["missed"], b["exempt"], b["retests"], b["percent"]]
        for b in stats["buildings"]
    ]
    t = stats["total"]
    total = [_("合计"), t["expected"], t["sampled"], t["missed"], t["exempt"], t["retests"], t["percent"]]
    return tables_xlsx(
        [
            Sheet(
                name=_("筛查进度"),
                header=header,
                rows=rows,
                total=total,
                title=_("%(title)s 进度") % {"title": _title(round_)},
            )
        ]
    )
