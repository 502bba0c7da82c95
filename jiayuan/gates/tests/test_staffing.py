"""今日值守 at a gate from the gates side: the empty state when no provider answers, a provider's
shifts shown (short in red only once started), the staffing API's scope, and the boundary:
gates and volunteers never import each other (they meet in ``core.extensions``)."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from jiayuan.core import extensions
from jiayuan.core.extensions import StaffedShift, StaffedVolunteer
from jiayuan.gates import staffing
from jiayuan.gates.tests.conftest import bearer

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
NOON = dt.datetime(2026, 4, 10, 6, 0, tzinfo=dt.UTC)  # 14:00 in Shanghai


def _imports(app: str) -> set[str]:
    """Modules imported by the app's code (its tests aside)."""
    names: set[str] = set()
    for path in (ROOT / app).rglob("*.py"):
        if "tests" in path.relative_to(ROOT / app).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
                names.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
    return names


def test_gates_and_volunteers_do_not_import_each_other():
    assert not [m for m in _imports("gates") if m.startswith("jiayuan.volunteers")]
    assert not [m for m in _imports("volunteers") if m.startswith("jiayuan.gates")]


@pytest.fixture
def provider(monkeypatch):
    """A staffing provider of our own (the registry restored after the test)."""
    monkeypatch.setattr(extensions, "_staffing", [])
    shifts: list[StaffedShift] = []
    asked = []

    def fn(kind, ref, day):
        asked.append((kind, ref, day))
        return list(shifts)

    extensions.staffing_provider(fn)
    return shifts, asked


def test_empty_state_without_any_provider(client, monkeypatch, gate, guard):
    monkeypatch.setattr(extensions, "_staffing", [])
    client.force_login(guard)
    page = client.get(f"/gates/{gate.pk}/").content.decode()
    assert "今日值守" in page and "今天没有排班(志愿者队伍未给此门岗排班)" in page
    assert client.get(f"/api/v1/gates/{gate.pk}/staffing", **bearer(guard)).json() == {"items": [], "count": 0}


@time_machine.travel(NOON, tick=False)
def test_provider_shifts_are_shown_short_only_once_started(client, provider, gate, guard):
    shifts, asked = provider
    tz = timezone.get_current_timezone()
    at = lambda h: timezone.make_aware(dt.datetime(2026, 4, 10, h), tz)  # noqa: E731
    shifts += [
        StaffedShift("门岗早班", at(8), at(14), 2, (StaffedVolunteer("张*", True), StaffedVolunteer("李*", True))),
        StaffedShift("门岗午班", at(13), at(20), 3, (StaffedVolunteer("赵*", True),)),
        StaffedShift("门岗晚班", at(20), at(23), 2, ()),
    ]
    client.force_login(guard)
    page = client.get(f"/gates/{gate.pk}/").content.decode()
    assert asked[-1] == ("gate", f"gate:{gate.pk}", dt.date(2026, 4, 10))
    assert page.count("duty-short") == 1 and "缺 2 人" in page  # the afternoon: 1 of 3, started
    assert "门岗晚班" in page and "还没有排人" in page
    duties = staffing.for_gate(gate)
    assert [d.missing for d in duties] == [0, 2, 0]


@time_machine.travel(NOON, tick=False)
def test_the_staffing_api_pages_like_every_list(client, provider, gate, guard):
    shifts, _asked = provider
    tz = timezone.get_current_timezone()
    for h in (8, 13, 20):
        start = timezone.make_aware(dt.datetime(2026, 4, 10, h), tz)
        shifts.append(StaffedShift(f"{h}点班", start, start + dt.timedelta(hours=3), 1, ()))
    url = f"/api/v1/gates/{gate.pk}/staffing"
    first = client.get(url, {"limit": 2}, **bearer(guard)).json()
    assert first["count"] == 3 and [d["team"] for d in first["items"]] == ["8点班", "13点班"]
    rest = client.get(url, {"limit": 2, "offset": 2}, **bearer(guard)).json()
    assert [d["team"] for d in rest["items"]] == ["20点班"]
    assert client.get(url, {"limit": 0}, **bearer(guard)).status_code == 422


def test_gate_places_are_the_neighbourhoods_gates(gate, neighbourhood, other_neighbourhood):
    assert staffing.places(neighbourhood.pk) == [(f"gate:{gate.pk}", "泰和苑 南门")]
    assert staffing.places(other_neighbourhood.pk) == []
