"""Shifts: created for a team and a place (a gate, a building, a station), assigned, claimed, checked in and out."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiayuan.core import extensions
from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record
from jiayuan.volunteers.choices import PlaceKind
from jiayuan.volunteers.models import Shift, Team
from jiayuan.volunteers.services._shared import AS, ShiftRefused

# --- Shifts ----------------------------------------------------------------------------------------


@transaction.atomic
def shift_create(
    *,
    actor,
    team: Team,
    date: dt.date,
    start: dt.time,
    end: dt.time,
    needed: int,
    place: str = "",
    place_kind: str = "other",
    place_ref: str = "",
    building=None,
    note: str = "",
) -> Shift:
    """A shift of ``team``. ``place_ref`` names a real place of ``place_kind`` another app provides
    (a gate: ``"gate:<id>"``, ``core.extensions.place_choices``); ``place`` then reads its label."""
    values = _clean(
        team=team,
        date=date,
        start=start,
        end=end,
        needed=needed,
        place=place,
        place_kind=place_kind,
        place_ref=place_ref,
        building=building,
        note=note,
    )
    shift = Shift(neighbourhood_id=team.neighbourhood_id, team=team, created_by=_user(actor), **values)
    shift.full_clean(exclude=["starts_at", "ends_at", "neighbourhood"], validate_constraints=False)
    shift.save()
    audit_record(
        actor=actor,
        action="volunteer.shift_create",
        obj=shift,
        changes={"team": team.pk, "place": shift.place, "place_ref": shift.place_ref, "needed": needed},
    )
    return shift


def _clean(
    *,
    team: Team,
    date: dt.date,
    start: dt.time,
    end: dt.time,
    needed: int,
    place: str,
    place_kind: str,
    place_ref: str,
    building,
    note: str,
) -> dict:
    """The rules a shift's fields follow, when created and when changed: its field values, the
    place read from ``place_ref`` when that names a real place."""
    place_ref = (place_ref or "").strip()
    errors = {}
    if place_ref:
        label = dict(extensions.place_choices(place_kind, team.neighbourhood_id)).get(place_ref)
        if label is not None:
            place = str(label)
        elif any(
            place_ref in dict(extensions.place_choices(kind, team.neighbourhood_id))
            for kind in PlaceKind.values
            if kind != place_kind
        ):
            errors["place_ref"] = [_("所选地点与地点类型不符")]
        else:
            errors["place_ref"] = [_("不是本居民区可选的地点")]
    if start == end:
        errors["end"] = [_("结束时间不能与开始时间相同")]
    if not needed or needed < 1 or needed > 500:
        errors["needed"] = [_("需要人数应在 1 至 500 之间")]
    if building is not None and building.neighbourhood_id != team.neighbourhood_id:
        errors["building"] = [_("该楼栋不属于本居民区")]
    if not team.active:
        errors["team"] = [_("该队伍已停用")]
    if errors:
        raise ValidationError(errors)
    return {
        "date": date,
        "start": start,
        "end": end,
        "needed": needed,
        "place": (place or "").strip()[:200] or (building.name if building is not None else ""),
        "place_kind": place_kind,
        "place_ref": place_ref,
        "building": building,
        "note": (note or "").strip(),
    }


# What a change may touch once people are on the shift: its times only while nobody has checked in.
_TIMES = ("date", "start", "end")


@transaction.atomic
def shift_update(
    *,
    actor,
    shift: Shift,
    date: dt.date,
    start: dt.time,
    end: dt.time,
    needed: int,
    place: str = "",
    place_kind: str = "other",
    place_ref: str = "",
    building=None,
    note: str = "",
) -> Shift:
    """Change a shift (all its fields, as ``shift_create`` takes them; its team stays). A cancelled
    or ended shift is not changed (``ShiftRefused``: ``cancelled``, ``ended``); its day and times
    stay once someone has checked in (``checked_in``: the hours served are counted from them); it
    cannot need fewer people than are already on it. Audited with each changed field's before and
    after; a change that changes nothing is not recorded."""
    shift = Shift.objects.select_for_update().select_related("team").get(pk=shift.pk)
    if shift.cancelled:
        raise ShiftRefused("cancelled", _("该班次已取消, 不能修改"))
    if shift.ends_at <= timezone.now():
        raise ShiftRefused("ended", _("该班次已结束, 不能修改"))
    new = _clean(
        team=shift.team,
        date=date,
        start=start,
        end=end,
        needed=needed,
        place=place,
        place_kind=place_kind,
        place_ref=place_ref,
        building=building,
        note=note,
    )
    building = new.pop("building")
    new["building_id"] = building.pk if building is not None else None
    changed = {f: (getattr(shift, f), v) for f, v in new.items() if getattr(shift, f) != v}
    if not changed:
        return shift
    on_shift = shift.assignments.exclude(status=AS.CANCELLED)
    if any(f in changed for f in _TIMES) and on_shift.exclude(checked_in_at=None).exists():
        raise ShiftRefused("checked_in", _("已有人签到, 不能修改日期和时间"))
    taken = on_shift.count()
    if needed < taken:
        raise ValidationError({"needed": [_("已安排 %(n)s 人, 需要人数不能少于已安排人数") % {"n": taken}]})
    for f, (_old, value) in changed.items():
        setattr(shift, f, value)
    shift.full_clean(exclude=["starts_at", "ends_at", "neighbourhood"], validate_constraints=False)
    shift.save()
    audit_record(
        actor=actor,
        action="volunteer.shift_update",
        obj=shift,
        changes={f: [_plain(old), _plain(value)] for f, (old, value) in changed.items()},
    )
    return shift


def _plain(value):
    return value.isoformat() if isinstance(value, dt.date | dt.time) else value


@transaction.atomic
def shift_cancel(*, actor, shift: Shift, reason: str = "") -> Shift:
    shift = Shift.objects.select_for_update().get(pk=shift.pk)
    if shift.cancelled:
        return shift
    shift.cancelled = True
    shift.save(update_fields=["cancelled"])
    shift.assignments.filter(status=AS.ASSIGNED).update(status=AS.CANCELLED)
    audit_record(actor=actor, action="volunteer.shift_cancel", obj=shift, changes={"reason": reason[:200]})
    return shift
