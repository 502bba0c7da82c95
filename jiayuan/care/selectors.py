"""Reads of the care app, always through the user's scope."""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.db.models.functions import Concat
from django.http import Http404
from django.utils import timezone

from jiayuan.care.choices import OPEN_STATUSES, Category, Status
from jiayuan.care.models import (
    CareRequest,
    EmergencyCall,
    ErrandRun,
    RequestEvent,
    Suggestion,
    SuggestionGroup,
    SupportMember,
    TreatmentSchedule,
    VisitPlan,
)
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import get_scoped_or_404, restrict
from jiayuan.people.models import Resident
from jiayuan.places.models import Household


def overdue_q(now=None) -> Q:
    """Requests past their time limit: not accepted in time, or not done in time."""
    now = now or timezone.now()
    return Q(status=Status.NEW, due_at__lt=now) | Q(
        status__in=[Status.ACCEPTED, Status.IN_PROGRESS, Status.REOPENED], done_due_at__lt=now
    )


def mine_q(user) -> Q:
    """Requests the user owns: assigned to them or to a team they belong to."""
    q = Q(assignee_id=user.pk)
    try:
        from jiayuan.volunteers.models import TeamMembership

        q |= Q(team_id__in=TeamMembership.objects.filter(volunteer__user_id=user.pk).values("team_id"))
    except (ImportError, LookupError):  # pragma: no cover - the volunteers app is optional
        pass
    return q


def scoped_requests(user, action: str = Action.VIEW_REQUESTS) -> QuerySet[CareRequest]:
    """The requests ``user`` may ``action`` through their scope, and the psychological-support
    requests of every neighbourhood whose support group they belong to (the group handles those
    wherever the resident lives, whatever the member's own buildings)."""
    qs = restrict(CareRequest.objects.all(), user, action)
    if user is not None and user.is_authenticated and user.is_active:
        groups = SupportMember.objects.filter(user=user).values("group__neighbourhood_id")
        qs = qs | CareRequest.objects.filter(category=Category.PSYCHOLOGICAL, neighbourhood_id__in=groups)
    return qs


_PRIORITY_ORDER = {"high": 0, "normal": 1, "low": 2}


def request_list(
    *,
    user,
    status: str = "",
    category: str = "",
    overdue: bool | None = None,
    mine: bool = False,
    open_only: bool = False,
    action: str = Action.VIEW_REQUESTS,
) -> QuerySet[CareRequest]:
    qs = scoped_requests(user, action).select_related("household__building", "resident", "assignee", "team")
    if status:
        qs = qs.filter(status=status)
    if open_only:
        qs = qs.filter(status__in=OPEN_STATUSES)
    if category:
        qs = qs.filter(category=category)
    if overdue is True:
        qs = qs.filter(overdue_q())
    elif overdue is False:
        qs = qs.exclude(overdue_q())
    if mine:
        qs = qs.filter(mine_q(user))
    return qs.annotate(
        _prio=Case(
            *(When(priority=p, then=Value(n)) for p, n in _PRIORITY_ORDER.items()),
            output_field=IntegerField(),
        )
    ).order_by("_prio", "due_at", "-id")


def request_get(*, user, request_id: int, action: str = Action.VIEW_REQUESTS) -> CareRequest:
    try:
        return (
            scoped_requests(user, action)
            .select_related("household__building", "resident", "assignee", "team", "errand_run")
            .prefetch_related(Prefetch("events", queryset=RequestEvent.objects.order_by("at", "id")), "errand_items")
            .get(pk=request_id)
        )
    except (CareRequest.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def household_requests(*, household, days: int = 30) -> list[CareRequest]:
    """The household's open requests and those closed in the last ``days`` days, with their steps."""
    since = timezone.now() - dt.timedelta(days=days)
    return list(
        CareRequest.objects.filter(household=household)
        .filter(Q(status__in=OPEN_STATUSES) | Q(status=Status.DONE) | Q(created_at__gte=since))
        .select_related("resident")
        .prefetch_related(Prefetch("events", queryset=RequestEvent.objects.order_by("at", "id")), "errand_items")
        .order_by("-created_at", "-id")[:30]
    )


def household_replies(*, household) -> list[SuggestionGroup]:
    """The answered common issues the household supported."""
    return list(
        SuggestionGroup.objects.filter(replied_at__isnull=False, suggestions__household=household)
        .distinct()
        .annotate(supporters=Count("suggestions__household", distinct=True))
        .order_by("-replied_at")[:20]
    )


def household_suggestions(*, household) -> list[Suggestion]:
    return list(Suggestion.objects.filter(household=household).select_related("group").order_by("-created_at")[:20])


def open_medicine_errands(*, user) -> QuerySet[CareRequest]:
    return (
        restrict(CareRequest.objects.all(), user, Action.HANDLE_REQUESTS)
        .filter(category=Category.MEDICINE, status__in=OPEN_STATUSES, errand_run__isnull=True)
        .select_related("household__building", "resident")
        .prefetch_related("errand_items")
        .order_by("created_at", "id")
    )


def errand_runs(*, user) -> QuerySet[ErrandRun]:
    return (
        restrict(ErrandRun.objects.all(), user, Action.VIEW_REQUESTS)
        .select_related("volunteer")
        .annotate(n=Count("requests"))
    )


def errand_run_get(*, user, run_id: int) -> ErrandRun:
    run = get_scoped_or_404(ErrandRun.objects.select_related("volunteer"), user, Action.VIEW_REQUESTS, pk=run_id)
    return run


def run_requests(*, user, run: ErrandRun) -> list[CareRequest]:
    return list(
        restrict(run.requests.all(), user, Action.VIEW_REQUESTS)
        .select_related("household__building", "resident")
        .prefetch_related("errand_items")
        .order_by("building_id", "household_id")
    )


def schedules(*, user) -> QuerySet[TreatmentSchedule]:
    return restrict(TreatmentSchedule.objects.filter(active=True), user, Action.VIEW_REQUESTS).select_related(
        "resident", "building", "escort"
    )


def emergencies(*, user) -> QuerySet[EmergencyCall]:
    return restrict(EmergencyCall.objects.all(), user, Action.VIEW_REQUESTS).select_related("resident", "building")


def visit_plans(*, user, visitor=None) -> QuerySet[VisitPlan]:
    qs = restrict(VisitPlan.objects.filter(active=True), user, Action.VIEW_REQUESTS).select_related(
        "resident__household", "building", "visitor"
    )
    if visitor is not None:
        qs = qs.filter(visitor=visitor)
    return qs


def missed_visits_q(today: dt.date | None = None) -> Q:
    """Plans whose next check is overdue: the last check (or the plan's start) plus ``every_days``
    is before today. Written per frequency so it stays one indexed query on both databases."""
    today = today or timezone.localdate()
    q = Q()
    for every in range(1, 31):
        start = timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=every), dt.time.min))
        q |= Q(every_days=every) & (Q(last_visit_at__lt=start) | Q(last_visit_at__isnull=True, created_at__lt=start))
    return q


def missed_visits(*, user, today: dt.date | None = None) -> QuerySet[VisitPlan]:
    return visit_plans(user=user).filter(missed_visits_q(today))


def suggestion_groups(*, user, open_only: bool = False) -> QuerySet[SuggestionGroup]:
    qs = restrict(SuggestionGroup.objects.all(), user, Action.MANAGE_SUGGESTIONS).annotate(
        size=Count("suggestions", distinct=True),
        supporters=Count("suggestions__household", distinct=True),
    )
    if open_only:
        qs = qs.filter(replied_at__isnull=True)
    return qs.prefetch_related(Prefetch("suggestions", queryset=Suggestion.objects.order_by("id"))).order_by(
        "replied_at", "-size", "-id"
    )


def suggestion_group_get(*, user, group_id: int) -> SuggestionGroup:
    return get_scoped_or_404(SuggestionGroup.objects.all(), user, Action.MANAGE_SUGGESTIONS, pk=group_id)


def has_open_for(households) -> dict[int, int]:
    return dict(
        CareRequest.objects.filter(household__in=households, status__in=OPEN_STATUSES)
        .values_list("household_id")
        .annotate(n=Count("id"))
    )


# --- Who called (the phone log) ---------------------------------------------------------------------

WHO_LIMIT = 20


def _who_tokens(q: str) -> list[str]:
    """The words of what was typed, without the 单元/室 a label spells out: ``3号楼 1单元 301室``
    and ``3号楼 1 301`` find the same household."""
    tokens = []
    for word in " ".join((q or "").split())[:120].split(" "):
        word = word.removesuffix("室").removesuffix("单元")
        if word:
            tokens.append(word)
    return tokens[:6]


def who_search(*, user, q: str, limit: int = WHO_LIMIT) -> list[tuple[str, int, int | None]]:
    """Households and residents in ``user``'s HANDLE_REQUESTS scope whose building, unit, room (and,
    for residents, name) hold every word of ``q``: ``(label, household id, resident id or None)``,
    households first, at most ``limit`` of each. The label is what the phone log's field shows and
    takes back (``who_resolve``)."""
    tokens = _who_tokens(q)
    if not tokens:
        return []
    sep = Value(" ")
    place = Concat("building__name", sep, "unit", sep, "room")
    households = (
        restrict(Household.objects.all(), user, Action.HANDLE_REQUESTS)
        .select_related("building")
        .annotate(_text=place)
        .order_by("building__sort_key", "building_id", "unit", "room")
    )
    resident_place = Concat("household__building__name", sep, "household__unit", sep, "household__room", sep, "name")
    residents = (
        restrict(Resident.objects.filter(household__isnull=False), user, Action.HANDLE_REQUESTS)
        .select_related("household__building")
        .only("id", "name", "household_id", "household__unit", "household__room", "household__building__name")
        .annotate(_text=resident_place)
        .order_by("household__building__sort_key", "household__building_id", "household__room", "name")
    )
    for token in tokens:
        households = households.filter(_text__icontains=token)
        residents = residents.filter(_text__icontains=token)
    found: list[tuple[str, int, int | None]] = []
    for h in households[:limit]:
        found.append((" ".join(str(h).split()), h.pk, None))
    for r in residents[:limit]:
        found.append((f"{' '.join(str(r.household).split())} {r.name}", r.household_id, r.pk))
    return found


def who_resolve(*, user, label: str) -> tuple[int, int | None] | None:
    """The household (and resident) a label from ``who_search`` names, in ``user``'s scope."""
    label = " ".join((label or "").split())
    for text, household_id, resident_id in who_search(user=user, q=label, limit=200):
        if text == label:
            return household_id, resident_id
    return None
