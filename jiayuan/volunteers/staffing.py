"""Who works at a real place on a day (``extensions.staffing_provider``): the shifts placed at it.

Another app (gates) asks for the shifts at one of its places by the ``ref`` it provided
(``"gate:<id>"``); it has already resolved the place through the reader's scope, so this read
takes no user. A shift counts on a day when it runs during that day, so last night's shift that
ends this morning is on today's list. Names are masked ("张*"): a guard reading the gate page
need not see the volunteer register. Two queries, whatever the number of shifts.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch
from django.utils import timezone

from jiayuan.core.extensions import StaffedShift, StaffedVolunteer
from jiayuan.core.masking import mask_name
from jiayuan.volunteers.choices import AssignmentStatus
from jiayuan.volunteers.models import HOLDING, Shift, ShiftAssignment


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min), tz)
    end = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min), tz)
    return start, end


def at_place(place_kind: str, ref: str, day: dt.date) -> list[StaffedShift]:
    """The shifts (not cancelled) placed at ``ref`` that run during ``day``, by start."""
    if not ref:
        return []
    start, end = _day_bounds(day)
    shifts = (
        Shift.objects.filter(
            place_kind=place_kind,
            place_ref=ref,
            cancelled=False,
            date__in=[day - dt.timedelta(days=1), day],
            starts_at__lt=end,
            ends_at__gt=start,
        )
        .select_related("team")
        .prefetch_related(
            Prefetch(
                "assignments",
                ShiftAssignment.objects.filter(status__in=HOLDING).select_related("volunteer").order_by("id"),
                to_attr="holding",
            )
        )
        .order_by("starts_at", "id")
    )
    return [
        StaffedShift(
            team=s.team.name,
            start=s.starts_at,
            end=s.ends_at,
            needed=s.needed,
            volunteers=tuple(
                StaffedVolunteer(mask_name(a.volunteer.name), a.status == AssignmentStatus.CHECKED_IN)
                for a in s.holding
            ),
        )
        for s in shifts
    ]
