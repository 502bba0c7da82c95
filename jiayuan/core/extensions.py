"""Extension points through which domain apps plug into shared pages without importing each other.

Apps register in ``AppConfig.ready()``:

- ``nav_item(label, url_name, action, order=50)``: a header menu entry shown to users who may
  ``action``; lower ``order`` first (daily work first, administration such as the team last).
- ``household_panel(fn)``: ``fn(request, household, link) -> (template_name, context) | None``,
  a section of the page a household opens through its link (``/h/<token>/``).
- ``resident_panel(fn)``: ``fn(request, resident) -> (template_name, context) | None``, a section
  of the staff page of one resident (its cases and quarantines, its sampling code …).
- ``home_panel(fn)``: ``fn(request) -> (template_name, context) | None``, a card on the staff
  home page (alerts such as a positive antigen report or a fever).
- ``today_item(fn, order=50)``: ``fn(request) -> list[TodayItem] | None``, rows of "今天要做的事" at
  the top of the home page: what the signed-in user's roles have to do today (the guard's
  arrivals, the leader's missed tests …), each a count, a label and the page that does the work.
  Count through the user's scope (``restrict``) with a few queries whose number does not grow
  with the data; the URL must open for every user the row is shown to (the role-link crawl in
  ``jiayuan/tests/test_role_links.py`` follows it). Rows with a count of 0 are dropped; "bad"
  rows (a positive, a fever) come first, then ``order``.
- ``demo_loader(fn, order)``: ``fn(neighbourhood, stdout)`` run by ``jiayuan demo`` after the
  roster is loaded, lowest order first; each must be idempotent.
- ``retention_rule(name, fn)``: ``fn(now, dry_run, progress) -> int``, personal or bulky data an app
  deletes once it is no longer needed (antigen photos after some days …), calling
  ``progress(n)`` after each committed batch; ``jiayuan purge`` runs every rule daily and audits
  what each removed (``core.retention``).
- ``audit_labels(kind, kind_label, {action: label})``: how the 操作记录 page (``core:audit``) reads
  an app's audit actions: ``label`` is a Chinese verb phrase ("登记了核酸采样") put between who and
  what; ``kind`` groups the actions for the page's "类别" filter (one kind per app, e.g.
  ``"screening"`` / "核酸筛查"). Each app keeps its labels in its own ``audit_labels.py``; every
  action string passed to ``audit_record`` must have one (``core/tests/test_audit_log.py`` collects
  them from the source). An action nobody labelled reads "执行了 <action>".
- ``bulletin_section(key, fn, order=50)``: ``fn(neighbourhood, day) -> BulletinSection | None``, one
  section of the daily bulletin (日报) of a neighbourhood for ``day``: its figures (counts, each with
  the same figure for the day before, so the bulletin says what changed since yesterday) and
  lines that name places (buildings, gates), never a person. Counts of people are ``BulletinFigure``
  with ``people=True``: the bulletin app masks small ones ("少量") in one place; lines must not
  carry counts of people. ``None`` (or no figures and no lines) leaves the section out.
- ``trend_series(key, label, fn, order=50)``: ``fn(neighbourhood, start, end) -> dict[date, number]``,
  one line of the 30-day trend dashboard (cases, share tested, orders …); days without a value are
  left out of the dict.
- ``rollup_column(key, label, fn, order=50)``: ``fn(neighbourhood_ids, day) -> dict[int, int]``, one
  column of the street/district roll-up, counted for many neighbourhoods in a few queries (not one
  per neighbourhood); neighbourhoods missing from the dict count 0.
- ``place_provider(kind, fn)``: ``fn(neighbourhood_id) -> list[(ref, label)]``, the real places of
  one place kind an app owns (gates registers ``"gate"``: its gates, refs ``"gate:<id>"``, labels
  "小区 南门"). Another app offers them as choices (a volunteer shift "at a gate" picks one) and
  stores the ``ref``, never the other app's ids in a foreign key; ``place_choices(kind, nb_id)``
  reads them (``[]`` when no app provides the kind).
- ``staffing_provider(fn)``: ``fn(place_kind, ref, day) -> list[StaffedShift]``, who works at a
  place on ``day`` (volunteers registers it: the shifts placed at ``ref`` that run that day, with
  their team, times, people needed and the volunteers on them). ``staffing(kind, ref, day)`` joins
  every provider's answer by start; ``[]`` when none is registered or nobody is scheduled. Names
  are masked ("张*"): the reader (a gate guard) need not see the volunteer register.
- ``subscribe(event, handler)`` / ``publish(event, **payload)``: domain events. Handlers run
  synchronously inside the publisher's transaction, so a state change and its consequences
  (a positive result and the case it opens) commit or roll back together (ADR 0006).

Events in use (payload keys):

- ``screening.positive`` (resident, detected_on, source, actor, ref): an individual positive
  result (PCR tube of one, individual retest, or a positive antigen report once staff confirmed
  it). Control opens or updates the resident's case.
- ``screening.pool_positive`` (residents, detected_on, actor, ref): a pooled tube came back
  positive. Control puts each member under temporary home control ("retest pending").
- ``screening.antigen_positive`` (resident, detected_on, actor, ref, report): a resident's antigen
  self-test was reported positive (household link, leader or API). Not a case and no zone change:
  control puts the resident (and the household, per the policy's ``whole_household``) under
  temporary home control 抗原阳性待核酸复核; screening has put the resident on the retest list.
- ``screening.retest_negative`` (resident, actor, ref): the individual retest was negative.
  Control ends that temporary control (pooled tube or antigen), and the housemates' once nobody
  of the household still awaits a retest.
- ``control.zone_changed`` (building_ids, compound_ids, actor): zone levels were recomputed and
  changed for these places.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AuditKind",
    "BulletinFigure",
    "BulletinSection",
    "NavItem",
    "RollupColumn",
    "StaffedShift",
    "StaffedVolunteer",
    "TodayItem",
    "TrendSeries",
    "audit_kinds",
    "audit_label",
    "audit_labels",
    "bulletin_section",
    "bulletin_sections",
    "demo_loader",
    "demo_loaders",
    "home_panel",
    "home_panels",
    "household_panel",
    "household_panels",
    "nav_item",
    "nav_items",
    "place_choices",
    "place_provider",
    "publish",
    "resident_panel",
    "resident_panels",
    "retention_rule",
    "retention_rules",
    "rollup_column",
    "rollup_columns",
    "staffing",
    "staffing_provider",
    "subscribe",
    "today_item",
    "today_items",
    "trend_series",
    "trend_series_list",
]


@dataclass(frozen=True)
class NavItem:
    label: Any
    url_name: str
    action: str
    order: int = 50


@dataclass(frozen=True)
class TodayItem:
    """One row of "今天要做的事": ``count`` (None: no number) then ``label``, e.g. 3 / "户到货待消杀";
    ``urgency`` is "normal", "warn" (overdue, missing) or "bad" (a positive, a fever)."""

    label: Any
    count: int | None
    url: str
    urgency: str = "normal"


@dataclass(frozen=True)
class AuditKind:
    """A group of audit actions (one app's), a choice of the 操作记录 page's "类别" filter."""

    key: str
    label: Any
    actions: tuple[str, ...]


@dataclass(frozen=True)
class BulletinFigure:
    """One figure of a bulletin section: ``value`` today, ``previous`` the day before (None: not
    comparable); ``people``: a count of persons, shown as "少量" when small (the bulletin's
    settings); ``place``: the building or gate it is about ("5号楼"), never a room or a person."""

    key: str
    label: Any
    value: int | float | None
    previous: int | float | None = None
    people: bool = True
    place: str = ""
    unit: Any = ""


@dataclass(frozen=True)
class BulletinSection:
    key: str
    title: Any
    figures: tuple[BulletinFigure, ...] = ()
    lines: tuple[Any, ...] = ()


@dataclass(frozen=True)
class TrendSeries:
    key: str
    label: Any
    fn: Callable
    order: int = 50


@dataclass(frozen=True)
class RollupColumn:
    key: str
    label: Any
    fn: Callable
    order: int = 50


@dataclass(frozen=True)
class StaffedVolunteer:
    """A volunteer on a shift as a place's page shows them: ``name`` masked ("张*")."""

    name: str
    checked_in: bool


@dataclass(frozen=True)
class StaffedShift:
    """A shift worked at a place (``staffing_provider``): ``start``/``end`` are its instants (a night
    shift ends the next day), ``needed`` the people it asks for, ``volunteers`` those on it."""

    team: str
    start: Any  # datetime
    end: Any  # datetime
    needed: int
    volunteers: tuple[StaffedVolunteer, ...] = ()

    @property
    def checked_in(self) -> int:
        return sum(1 for v in self.volunteers if v.checked_in)

    def missing(self, now) -> int:
        """People still missing once the shift has started and until it ends (0 before or after)."""
        if not (self.start <= now < self.end):
            return 0
        return max(0, self.needed - self.checked_in)


_URGENCY_RANK = {"bad": 0, "warn": 1, "normal": 2}

_nav: list[NavItem] = []
_household: list[Callable] = []
_home: list[Callable] = []
_resident: list[Callable] = []
_today: list[tuple[int, Callable]] = []
_demo: list[tuple[int, Callable]] = []
_retention: list[tuple[str, Callable]] = []
_bulletin: list[tuple[int, str, Callable]] = []
_trends: list[TrendSeries] = []
_rollup: list[RollupColumn] = []
_places: dict[str, list[Callable]] = defaultdict(list)
_staffing: list[Callable] = []
_handlers: dict[str, list[Callable]] = defaultdict(list)
_audit_labels: dict[str, Any] = {}
_audit_kinds: dict[str, tuple[Any, dict[str, Any]]] = {}


def _once(registry: list, item) -> None:
    if item not in registry:
        registry.append(item)


def nav_item(label, url_name: str, action: str, order: int = 50) -> None:
    _once(_nav, NavItem(label, url_name, action, order))


def nav_items() -> list[NavItem]:
    """In ``order``, then in the order they were registered."""
    return sorted(_nav, key=lambda item: item.order)


def household_panel(fn: Callable) -> Callable:
    _once(_household, fn)
    return fn


def household_panels() -> list[Callable]:
    return list(_household)


def resident_panel(fn: Callable) -> Callable:
    _once(_resident, fn)
    return fn


def resident_panels() -> list[Callable]:
    return list(_resident)


def home_panel(fn: Callable) -> Callable:
    _once(_home, fn)
    return fn


def home_panels() -> list[Callable]:
    return list(_home)


def today_item(fn: Callable, order: int = 50) -> Callable:
    _once(_today, (order, fn))
    return fn


def today_items(request) -> list[TodayItem]:
    """The rows every registered ``today_item`` gives for this request, "bad" first, then in
    ``order``; rows counting 0 are left out."""
    rows = []
    for n, (order, fn) in enumerate(sorted(_today, key=lambda p: p[0])):
        for m, item in enumerate(fn(request) or ()):
            if item.count is None or item.count > 0:
                rows.append((_URGENCY_RANK.get(item.urgency, 2), order, n, m, item))
    return [row[-1] for row in sorted(rows, key=lambda row: row[:4])]


def audit_labels(kind: str, kind_label, labels: dict[str, Any]) -> None:
    """Register Chinese verb phrases for audit actions, grouped under ``kind``."""
    _label, actions = _audit_kinds.setdefault(kind, (kind_label, {}))
    actions.update(labels)
    _audit_labels.update(labels)


def audit_label(action: str):
    """The verb phrase of ``action`` ("登记了核酸采样"); "执行了 <action>" for one nobody labelled."""
    from django.utils.translation import gettext

    label = _audit_labels.get(action)
    return label if label is not None else gettext("执行了 %(action)s") % {"action": action}


def audit_kinds() -> list[AuditKind]:
    """The registered kinds, in the order they were registered."""
    return [AuditKind(key, label, tuple(actions)) for key, (label, actions) in _audit_kinds.items()]


def demo_loader(fn: Callable, order: int = 100) -> None:
    _once(_demo, (order, fn))


def demo_loaders() -> list[Callable]:
    return [fn for _order, fn in sorted(_demo, key=lambda p: p[0])]


def retention_rule(name: str, fn: Callable) -> None:
    _once(_retention, (name, fn))


def retention_rules() -> list[tuple[str, Callable]]:
    return list(_retention)


def bulletin_section(key: str, fn: Callable, order: int = 50) -> Callable:
    _once(_bulletin, (order, key, fn))
    return fn


def bulletin_sections() -> list[tuple[str, Callable]]:
    """``(key, fn)`` in ``order``, then in the order they were registered."""
    return [(key, fn) for _order, key, fn in sorted(_bulletin, key=lambda p: p[0])]


def trend_series(key: str, label, fn: Callable, order: int = 50) -> Callable:
    _once(_trends, TrendSeries(key, label, fn, order))
    return fn


def trend_series_list() -> list[TrendSeries]:
    return sorted(_trends, key=lambda s: s.order)


def rollup_column(key: str, label, fn: Callable, order: int = 50) -> Callable:
    _once(_rollup, RollupColumn(key, label, fn, order))
    return fn


def rollup_columns() -> list[RollupColumn]:
    return sorted(_rollup, key=lambda c: c.order)


def place_provider(kind: str, fn: Callable) -> Callable:
    """Register ``fn(neighbourhood_id) -> list[(ref, label)]``, the real places of ``kind``."""
    _once(_places[kind], fn)
    return fn


def place_choices(kind: str, neighbourhood_id: int) -> list[tuple[str, str]]:
    """The places of ``kind`` in the neighbourhood, ``(ref, label)``; ``[]`` when nobody provides the kind."""
    return [choice for fn in list(_places.get(kind, ())) for choice in fn(neighbourhood_id) or ()]


def staffing_provider(fn: Callable) -> Callable:
    """Register ``fn(place_kind, ref, day) -> list[StaffedShift]``, who works at a place that day."""
    _once(_staffing, fn)
    return fn


def staffing(place_kind: str, ref: str, day) -> list[StaffedShift]:
    """Every provider's shifts at ``ref`` on ``day``, by start; ``[]`` with no provider or no shift."""
    shifts = [s for fn in list(_staffing) for s in fn(place_kind, ref, day) or ()]
    return sorted(shifts, key=lambda s: s.start)


def subscribe(event: str, handler: Callable) -> None:
    _once(_handlers[event], handler)


def publish(event: str, **payload) -> list[Any]:
    """Call every handler of ``event`` now, in the caller's transaction; return their results."""
    return [handler(**payload) for handler in list(_handlers.get(event, ()))]


def render_panels(fns: list[Callable], request, *args) -> list[str]:
    """Render each registered panel that applies (``fn`` returned a template and context)."""
    from django.template.loader import render_to_string
    from django.utils.safestring import mark_safe

    html = []
    for fn in fns:
        result = fn(request, *args)
        if result:
            template_name, context = result
            html.append(mark_safe(render_to_string(template_name, context, request=request)))  # noqa: S308
    return html
