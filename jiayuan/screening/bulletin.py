"""What screening gives the daily bulletin, the trend dashboard and the roll-up: the day's
rounds, the share of present residents sampled, antigen self-test completion. Counts only.

Counts are of residents with a sample (or an antigen report) of the day, read from the day's rows
alone; shares divide them by the residents present today (presence has no history), the same
denominator as the round's own progress page, and stop at 100 %.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from jiayuan.core import extensions
from jiayuan.core.extensions import BulletinFigure, BulletinSection
from jiayuan.people.choices import Presence
from jiayuan.people.models import Resident
from jiayuan.screening.models import AntigenReport, Round, Sample

__all__ = ["register"]


def _present(nb_ids):
    return Resident.objects.filter(neighbourhood_id__in=list(nb_ids), presence=Presence.PRESENT)


def _distinct_residents(qs) -> dict[int, int]:
    rows = qs.values_list("neighbourhood_id").annotate(n=Count("resident_id", distinct=True)).order_by()
    return dict(rows)


def sampled_by_neighbourhood(nb_ids, day: dt.date) -> dict[int, int]:
    """Residents sampled in a round of ``day``, counted from the day's samples alone (a street's
    roll-up reads a day's rows, not a million residents)."""
    rounds = Round.objects.filter(neighbourhood_id__in=list(nb_ids), date=day).values("id")
    # ``day`` is the round's date and the partition key (ADR 0015): one partition is read.
    return _distinct_residents(Sample.objects.filter(day=day, round_id__in=rounds, resident__isnull=False))


def antigen_reported_by_neighbourhood(nb_ids, day: dt.date) -> dict[int, int]:
    """Residents whose antigen self-test of ``day`` is reported (one report a resident a day)."""
    reports = AntigenReport.objects.filter(neighbourhood_id__in=list(nb_ids), date=day)
    return dict(reports.values_list("neighbourhood_id").annotate(n=Count("id")).order_by())


def _share(part: int, whole: int) -> float | None:
    return min(100.0, round(100 * part / whole, 1)) if whole else None


def section(neighbourhood, day: dt.date) -> BulletinSection:
    nb = [neighbourhood.pk]
    yesterday = day - dt.timedelta(days=1)
    present = _present(nb).count()
    rounds = dict(
        Round.objects.filter(neighbourhood=neighbourhood, date__in=[day, yesterday])
        .values_list("date")
        .annotate(n=Count("id"))
        .order_by()
    )
    sampled = {d: sampled_by_neighbourhood(nb, d).get(neighbourhood.pk, 0) for d in (day, yesterday)}
    antigen = {d: antigen_reported_by_neighbourhood(nb, d).get(neighbourhood.pk, 0) for d in (day, yesterday)}
    figures = [BulletinFigure("rounds", _("检测轮次"), rounds.get(day, 0), rounds.get(yesterday, 0), people=False)]
    if rounds.get(day) or rounds.get(yesterday):
        figures += [
            BulletinFigure("sampled", _("已采样"), sampled[day], sampled[yesterday], unit=_("人")),
            BulletinFigure(
                "share_sampled",
                _("在住居民采样率"),
                _share(sampled[day], present) if rounds.get(day) else None,
                _share(sampled[yesterday], present) if rounds.get(yesterday) else None,
                people=False,
                unit="%",
            ),
        ]
    if antigen[day] or antigen[yesterday]:
        figures += [
            BulletinFigure("antigen_reported", _("抗原已报告"), antigen[day], antigen[yesterday], unit=_("人")),
            BulletinFigure(
                "antigen_completion",
                _("抗原完成率"),
                _share(antigen[day], present),
                _share(antigen[yesterday], present),
                people=False,
                unit="%",
            ),
        ]
    return BulletinSection(key="screening", title=_("核酸与抗原"), figures=tuple(figures))


def _daily_share(qs, present: int) -> dict[dt.date, float]:
    return {d: _share(n, present) for d, n in qs if present}


def share_tested_trend(neighbourhood, start: dt.date, end: dt.date) -> dict[dt.date, float]:
    present = _present([neighbourhood.pk])
    rows = (
        Sample.objects.filter(
            round__neighbourhood=neighbourhood, round__date__range=(start, end), resident__isnull=False
        )
        .values_list("round__date")
        .annotate(n=Count("resident_id", distinct=True))
        .order_by()
    )
    return _daily_share(rows, present.count())


def antigen_trend(neighbourhood, start: dt.date, end: dt.date) -> dict[dt.date, float]:
    present = _present([neighbourhood.pk])
    rows = (
        AntigenReport.objects.filter(neighbourhood=neighbourhood, date__range=(start, end))
        .values_list("date")
        .annotate(n=Count("resident_id", distinct=True))
        .order_by()
    )
    return _daily_share(rows, present.count())


def register() -> None:
    extensions.bulletin_section("screening", section, order=20)
    extensions.trend_series("share_tested", _("核酸采样率(%)"), share_tested_trend, order=20)
    extensions.trend_series("antigen_completion", _("抗原完成率(%)"), antigen_trend, order=21)
    extensions.rollup_column("sampled_today", _("今日已采样"), sampled_by_neighbourhood, order=20)
    extensions.rollup_column("antigen_reported_today", _("今日抗原已报"), antigen_reported_by_neighbourhood, order=21)
