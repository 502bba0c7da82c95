"""Volunteer teams and their members."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from jiayuan.core.audit import audit_record
from jiayuan.volunteers.choices import TeamKind
from jiayuan.volunteers.models import Team, TeamMembership, Volunteer
from jiayuan.volunteers.services._shared import V

# --- Teams ---------------------------------------------------------------------------------------


@transaction.atomic
def team_create(
    *, actor, neighbourhood, name: str, kind: str, requires_antigen_today: bool = False, description: str = ""
) -> Team:
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = [_("请填写队名")]
    elif len(name) > 64:
        errors["name"] = [_("队名过长")]
    elif Team.objects.filter(neighbourhood=neighbourhood, name=name).exists():
        errors["name"] = [_("已有同名队伍")]
    if kind not in TeamKind.values:
        errors["kind"] = [_("请选择任务类别")]
    if errors:
        raise ValidationError(errors)
    team = Team.objects.create(
        neighbourhood=neighbourhood,
        name=name,
        kind=kind,
        requires_antigen_today=bool(requires_antigen_today),
        description=(description or "").strip(),
    )
    audit_record(
        actor=actor,
        action="volunteer.team_create",
        obj=team,
        changes={"kind": kind, "requires_antigen_today": team.requires_antigen_today},
    )
    return team


@transaction.atomic
def team_update(*, actor, team: Team, requires_antigen_today: bool, description: str, active: bool = True) -> Team:
    diff = {}
    for field, value in (
        ("requires_antigen_today", bool(requires_antigen_today)),
        ("description", (description or "").strip()),
        ("active", bool(active)),
    ):
        if getattr(team, field) != value:
            diff[field] = [getattr(team, field), value]
            setattr(team, field, value)
    team.save()
    if diff:
        audit_record(actor=actor, action="volunteer.team_update", obj=team, changes=diff)
    return team


@transaction.atomic
def team_add_member(*, actor, team: Team, volunteer: Volunteer, is_leader: bool = False) -> TeamMembership:
    if volunteer.neighbourhood_id != team.neighbourhood_id:
        raise ValidationError({"volunteer": [_("该志愿者不属于本居民区")]})
    if volunteer.status == V.LEFT:
        raise ValidationError({"volunteer": [_("该志愿者已退出")]})
    membership = TeamMembership.objects.filter(team=team, volunteer=volunteer).first()
    if membership is not None:
        if membership.is_leader == bool(is_leader):
            return membership
        return team_set_leader(actor=actor, membership=membership, is_leader=is_leader)
    membership = TeamMembership.objects.create(
        neighbourhood_id=team.neighbourhood_id, team=team, volunteer=volunteer, is_leader=bool(is_leader)
    )
    audit_record(
        actor=actor,
        action="volunteer.team_join",
        obj=volunteer,
        changes={"team": team.pk, "team_name": team.name, "is_leader": membership.is_leader},
    )
    return membership


@transaction.atomic
def team_set_leader(*, actor, membership: TeamMembership, is_leader: bool) -> TeamMembership:
    membership.is_leader = bool(is_leader)
    membership.save(update_fields=["is_leader"])
    audit_record(
        actor=actor,
        action="volunteer.team_leader",
        obj=membership.volunteer,
        changes={"team": membership.team_id, "is_leader": membership.is_leader},
    )
    return membership


@transaction.atomic
def team_remove_member(*, actor, membership: TeamMembership) -> None:
    audit_record(
        actor=actor,
        action="volunteer.team_leave",
        obj=membership.volunteer,
        changes={"team": membership.team_id},
    )
    membership.delete()


def leads(user, team_id: int) -> bool:
    """Whether ``user`` is a leader of the team (through their volunteer record)."""
    vol = getattr(user, "volunteer", None) if getattr(user, "is_authenticated", False) else None
    if vol is None:
        return False
    return TeamMembership.objects.filter(volunteer=vol, team_id=team_id, is_leader=True).exists()
