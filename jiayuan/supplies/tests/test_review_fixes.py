"""Regression tests for the final review: audited document downloads, no document blobs in lists,
one vote query on the household page, and one mapping from the proposal form to the service."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.supplies import forms, selectors, services
from jiayuan.supplies.choices import Category, LeaderStatus
from jiayuan.supplies.tests.conftest import item_ids

pytestmark = pytest.mark.django_db


def test_document_download_is_audited(client, head, leader):
    doc = leader.documents.first()
    client.force_login(head)
    r = client.get(reverse("supplies:document", args=[doc.pk]))
    assert r.status_code == 200
    event = AuditEvent.objects.get(action="supplies.leader_document_view")
    assert event.actor == head
    assert event.changes == {"document": doc.pk, "kind": doc.kind}


def test_leader_lists_do_not_load_document_files(head, leader, household):
    leaders = list(selectors.leader_list(user=head, status=LeaderStatus.APPROVED))
    assert leaders and all("data" in d.get_deferred_fields() for ld in leaders for d in ld.documents.all())
    own = selectors.household_leader(household=household)
    assert own.documents_valid_until() is not None
    assert all("data" in d.get_deferred_fields() for d in own.documents.all())


def test_household_page_reads_its_votes_in_one_query(
    client, make_leader, make_group_buy, household, household2, link_token
):
    veg = make_group_buy(make_leader(household, name="甲"))
    make_group_buy(make_leader(household2, name="乙"), supplier="另一家")
    meat = make_group_buy(veg.leader, category=Category.MEAT, title="肉类团购")
    services.vote_cast(actor="h", household=household2, group_buy=veg)
    services.vote_cast(actor="h", household=household2, group_buy=meat)
    assert selectors.household_votes(household=household2, bidding_keys=[veg.bidding_key, meat.bidding_key]) == {
        veg.bidding_key: veg.pk,
        meat.bidding_key: meat.pk,
    }
    token = link_token(household2)
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(reverse("supplies_household:home", args=[token]))
    assert r.status_code == 200
    vote_queries = [q for q in ctx.captured_queries if "supplies_vote" in q["sql"]]
    assert len(vote_queries) == 2  # the tallies and this household's votes, whatever the number of groups


def test_proposal_form_gives_the_service_arguments():
    day = timezone.localdate() + dt.timedelta(days=1)
    form = forms.ProposalForm(
        {
            "title": "蔬菜包",
            "category": Category.VEGETABLES,
            "supplier": "江桥批发",
            "delivery_date": day.isoformat(),
            "item_0_name": "青菜",
            "item_0_price": "10",
        }
    )
    assert form.is_valid(), form.errors
    kwargs = form.proposal()
    assert kwargs["min_households"] == 0 and kwargs["delivery_date"] == day
    assert kwargs["items"][0]["name"] == "青菜" and kwargs["items"][0]["unit"] == "份"
    assert set(kwargs) == {
        "title",
        "category",
        "supplier",
        "brand",
        "delivery_date",
        "min_households",
        "description",
        "items",
    }


def test_sorting_sheet_export_is_audited(client, head, open_buy, household, household2):
    veg, _eggs = item_ids(open_buy)
    services.order_place(actor="h", group_buy=open_buy, household=household, quantities={veg: 1})
    services.order_place(actor="h", group_buy=open_buy, household=household2, quantities={veg: 2})
    client.force_login(head)
    client.get(reverse("supplies:sorting", args=[open_buy.pk]))
    assert not AuditEvent.objects.filter(action="supplies.sorting_export").exists()  # the page is not an export
    r = client.get(reverse("supplies:sorting", args=[open_buy.pk]) + "?format=xlsx")
    assert r.status_code == 200
    event = AuditEvent.objects.get(action="supplies.sorting_export")
    assert event.actor == head and event.object_id == str(open_buy.pk)
    assert event.neighbourhood_id == open_buy.neighbourhood_id and event.changes == {"households": 2}


def test_delivery_checklist_export_is_audited(client, building, make_user):
    volunteer = make_user(Role.VOLUNTEER, building)
    client.force_login(volunteer)
    r = client.get(reverse("supplies:checklist") + "?format=xlsx")
    assert r.status_code == 200
    event = AuditEvent.objects.get(action="supplies.checklist_export")
    assert event.actor == volunteer and event.changes == {"households": 0}


def test_unused_selectors_are_gone():
    # Dead code removed in review: nothing called them (the household pages and the API filter
    # windows and bidding groups by the link's household themselves).
    assert not hasattr(selectors, "bidding_group_for") and not hasattr(selectors, "window_get")


def test_bidding_page_checks_permissions_once_for_all_groups(client, head, leader, make_group_buy):
    client.force_login(head)
    url = reverse("supplies:bidding")
    make_group_buy(leader)
    client.get(url)  # warm caches (sessions, settings rows)
    with CaptureQueriesContext(connection) as one:
        r = client.get(url)
    assert r.status_code == 200 and "蔬菜包团购" in r.content.decode()
    make_group_buy(leader, category=Category.MEAT, title="肉类团购")
    make_group_buy(leader, category=Category.EGGS_MILK, title="蛋奶团购")
    with CaptureQueriesContext(connection) as three:
        r = client.get(url)
    assert "肉类团购" in r.content.decode() and "蛋奶团购" in r.content.decode()
    assert len(three.captured_queries) == len(one.captured_queries)
