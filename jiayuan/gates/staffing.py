"""Who is on duty at a gate (今日值守): gates as places other apps can schedule at, and the shifts
worked there, both through ``core.extensions`` (gates never imports volunteers).

- ``places(neighbourhood_id)`` is gates' ``place_provider`` for kind ``"gate"``: the gates of the
  neighbourhood as ``("gate:<id>", "小区 南门")``; a volunteer shift "at a gate" stores the ref.
- ``for_gate(gate, day)`` asks every ``staffing_provider`` for the shifts at the gate that day.
  The caller has resolved the gate through the reader's scope (``selectors.gate_get`` /
  ``gate_list``, VIEW_GATES), so a guard of one compound never reads another compound's staffing.

A shift that has started and not ended with fewer volunteers checked in than it needs is short:
``Duty.missing`` people ("缺 N 人", shown in red).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from django.utils import timezone

from jiayuan.core import extensions
from jiayuan.gates.models import Gate

KIND = "gate"
# The 今日门岗 list asks for each gate's staffing (a couple of queries a gate); past this many
# gates (a street's whole list) it leaves staffing to each gate's own page.
INDEX_MAX_GATES = 20


def gate_ref(gate_id: int) -> str:
    return f"{KIND}:{gate_id}"


def places(neighbourhood_id: int) -> list[tuple[str, str]]:
    """The neighbourhood's gates as places: ``("gate:<id>", "<compound> <gate>")``."""
    gates = Gate.objects.filter(neighbourhood_id=neighbourhood_id).select_related("compound")
    return [(gate_ref(g.pk), f"{g.compound.name} {g.name}") for g in gates.order_by("compound__name", "name", "pk")]


@dataclass(frozen=True)
class Duty:
    """A shift at the gate as the pages and the API show it: a provider's ``StaffedShift`` with
    the people ``missing`` now (0 before its start and after its end)."""

    team: str
    start: dt.datetime
    end: dt.datetime
    needed: int
    checked_in: int
    missing: int
    volunteers: tuple[extensions.StaffedVolunteer, ...]

    def as_json(self) -> dict:
        body = {f.name: getattr(self, f.name) for f in fields(self)}
        body["volunteers"] = [{"name": v.name, "checked_in": v.checked_in} for v in self.volunteers]
        return body


def for_gate(gate: Gate, day: dt.date | None = None, now: dt.datetime | None = None) -> list[Duty]:
    """The shifts at ``gate`` that run during ``day`` (today by default), by start."""
    now = now or timezone.now()
    day = day or timezone.localdate(now)
    return [
        Duty(s.team, s.start, s.end, s.needed, s.checked_in, s.missing(now), s.volunteers)
        for s in extensions.staffing(KIND, gate_ref(gate.pk), day)
    ]
