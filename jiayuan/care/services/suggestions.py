"""Residents' suggestions, grouped, merged and answered."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiayuan.care import grouping
from jiayuan.care.models import (
    CareSettings,
    Suggestion,
    SuggestionGroup,
)
from jiayuan.care.services._shared import _clean_text, settings_for
from jiayuan.care.services.requests import TransitionError
from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record
from jiayuan.people.models import Resident
from jiayuan.places.models import Household

# Suggestions -----------------------------------------------------------------------------------


@transaction.atomic
def suggestion_submit(*, actor, household: Household, text: str, resident: Resident | None = None) -> Suggestion:
    """Store a suggestion in the group of its most similar open (unanswered) suggestion, or a new group."""
    text = _clean_text(text, "text", limit=500)
    if resident is not None and resident.household_id != household.pk:
        raise ValidationError({"resident": [_("该居民不属于此住户")]})
    nb = household.neighbourhood_id
    # Serialise submissions of one neighbourhood so two similar ones land in one group.
    CareSettings.objects.select_for_update().filter(pk=settings_for(nb).pk).first()
    others = list(
        Suggestion.objects.filter(neighbourhood_id=nb, group__replied_at__isnull=True)
        .order_by("id")
        .values_list("group_id", "text")[:2000]
    )
    near = {k: s for k, s in grouping.scores(text, others).items() if s >= grouping.THRESHOLD}
    if not near:
        group = SuggestionGroup.objects.create(neighbourhood_id=nb, summary=text[:200])
    else:
        group = SuggestionGroup.objects.get(pk=max(near, key=lambda k: near[k]))
        # The new text links groups the machine made apart (剪头发 … 头发太长了想理发 … 理发): they
        # become one. Groups staff merged into a common issue keep their own shape.
        joined = SuggestionGroup.objects.filter(pk__in=list(near), merged_at__isnull=True).exclude(pk=group.pk)
        for other in joined:
            other.suggestions.update(group=group)
            other.delete()
    suggestion = Suggestion.objects.create(
        neighbourhood_id=nb, household=household, resident=resident, text=text, group=group, created_by=_user(actor)
    )
    _refresh_summary(group)
    audit_record(actor=actor, action="care.suggestion_submit", obj=suggestion, changes={"group": group.pk})
    return suggestion


def _refresh_summary(group: SuggestionGroup) -> None:
    texts = list(group.suggestions.order_by("id").values_list("text", flat=True))
    summary = grouping.typical(texts)[:200]
    if summary and summary != group.summary:
        group.summary = summary
        group.save(update_fields=["summary"])


@transaction.atomic
def group_merge(*, actor, group: SuggestionGroup, others: list[SuggestionGroup], title: str = "") -> SuggestionGroup:
    """Merge ``others`` into ``group`` and make it a common issue (with its title)."""
    title = _clean_text(title, "title", required=False, limit=200)
    if group.replied_at is not None:
        raise TransitionError(_("已答复的问题不能再归并"))
    moved = []
    for other in others:
        if other.pk == group.pk:
            continue
        if other.neighbourhood_id != group.neighbourhood_id or other.replied_at is not None:
            raise ValidationError({"groups": [_("只能归并本居民区未答复的意见")]})
        other.suggestions.update(group=group)
        moved.append(other.pk)
        other.delete()
    group.title = title or group.title or group.summary
    group.merged_at = group.merged_at or timezone.now()
    group.save(update_fields=["title", "merged_at"])
    _refresh_summary(group)
    audit_record(
        actor=actor, action="care.suggestion_merge", obj=group, changes={"merged": moved, "title": group.title}
    )
    return group


@transaction.atomic
def group_reply(*, actor, group: SuggestionGroup, text: str) -> SuggestionGroup:
    """Reply once to a common issue: every supporter's link page shows it."""
    text = _clean_text(text, "text", limit=2000)
    locked = SuggestionGroup.objects.select_for_update().get(pk=group.pk)
    if locked.replied_at is not None:
        raise TransitionError(_("这个问题已经答复过了"))
    locked.reply = text
    locked.replied_at = timezone.now()
    locked.replied_by = _user(actor)
    locked.title = locked.title or locked.summary
    locked.merged_at = locked.merged_at or locked.replied_at
    locked.save(update_fields=["reply", "replied_at", "replied_by", "title", "merged_at"])
    audit_record(
        actor=actor,
        action="care.suggestion_reply",
        obj=locked,
        changes={"supporters": locked.suggestions.values("household_id").distinct().count()},
    )
    group.__dict__.update(locked.__dict__)
    return locked
