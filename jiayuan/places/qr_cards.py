"""Household QR cards printed per building or compound (several cards to an A4 sheet).

Each card is a credential (the household's link, ADR 0005): the households are read through
the user's MANAGE_HOUSEHOLD_LINKS scope, and handing out each household's token is audited
(``household_link.print``) just like the one-household card. A household without a live link
gets no card until someone with the permission asks for the missing links to be issued
(``household_links_issue_missing``, each one audited as ``household_link.issue``).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet

from jiayuan.accounts import services as account_services
from jiayuan.accounts.models import HouseholdLink
from jiayuan.core.audit import audit_event
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import restrict
from jiayuan.places.models import Household

__all__ = ["card_households", "household_cards_print", "household_links_issue_missing"]


def card_households(*, user, building_id: int | None = None, compound_id: int | None = None) -> QuerySet[Household]:
    """The households of a building or a compound whose links ``user`` may manage, in print order
    (building, unit, floor, room). A building leader asking for a compound gets their buildings."""
    qs = restrict(Household.objects.select_related("building__compound"), user, Action.MANAGE_HOUSEHOLD_LINKS)
    if building_id is not None:
        qs = qs.filter(building_id=building_id)
    if compound_id is not None:
        qs = qs.filter(building__compound_id=compound_id)
    return qs.order_by("building__sort_key", "building__number", "building_id", "unit", "floor", "room", "id")


@transaction.atomic
def household_cards_print(*, actor, households: list[Household]) -> tuple[list[tuple[Household, str]], list[Household]]:
    """``([(household, token)], [households without a live link])``: the tokens to print, one
    ``household_link.print`` audit row per card handed out. One query for the links, one for the audit rows."""
    live = {
        link.household_id: link
        for link in HouseholdLink.objects.filter(household_id__in=[h.pk for h in households], revoked_at__isnull=True)
    }
    cards, missing, audit_rows = [], [], []
    for h in households:
        link = live.get(h.pk)
        if link is None:
            missing.append(h)
            continue
        link.household = h
        audit_rows.append(
            audit_event(
                actor=actor, action="household_link.print", obj=link, object_repr=str(h), changes={"bulk": True}
            )
        )
        cards.append((h, account_services.household_link_token(link)))
    AuditEvent.objects.bulk_create(audit_rows, batch_size=1000)  # one statement, not one per card
    return cards, missing


@transaction.atomic
def household_links_issue_missing(*, actor, households: list[Household]) -> int:
    """Issue a link for each of ``households`` that has none live (each audited by the accounts
    service); households that already have one keep it. Returns how many were issued."""
    have = set(
        HouseholdLink.objects.filter(household_id__in=[h.pk for h in households], revoked_at__isnull=True).values_list(
            "household_id", flat=True
        )
    )
    issued = 0
    for h in households:
        if h.pk not in have:
            account_services.household_link_issue(actor=actor, household=h)
            issued += 1
    return issued
