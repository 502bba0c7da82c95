"""Supplies fixtures: an approved leader, group buys in each state, a household link."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from jiayuan.accounts import services as account_services
from jiayuan.supplies import services
from jiayuan.supplies.choices import Category, DocumentKind

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%test\n"


def docs(expires_on: dt.date | None = None, permit_expires: dt.date | None = None):
    expires_on = expires_on or timezone.localdate() + dt.timedelta(days=90)
    return [
        {
            "kind": DocumentKind.PERMIT,
            "number": "BG-001",
            "expires_on": permit_expires or expires_on,
            "filename": "permit.png",
            "data": PNG,
        },
        {
            "kind": DocumentKind.LICENCE,
            "number": "JY-001",
            "expires_on": expires_on,
            "filename": "licence.pdf",
            "data": PDF,
        },
    ]


@pytest.fixture
def make_leader(head):
    def make(household, name="李团长", approve=True, **kw):
        leader = services.leader_apply(
            actor=head, household=household, name=name, phone="13800001234", channel="叮咚买菜", documents=docs(**kw)
        )
        if approve:
            leader = services.leader_review(actor=head, leader=leader, approve=True)
        return leader

    return make


@pytest.fixture
def leader(make_leader, household):
    return make_leader(household)


ITEMS = [
    {"name": "蔬菜包", "unit": "份", "unit_price": "68.00", "per_household_limit": 2, "total_quantity": 100},
    {"name": "鸡蛋", "unit": "盒", "unit_price": "25.50", "per_household_limit": 3},
]


@pytest.fixture
def make_group_buy(head):
    def make(
        leader, *, category=Category.VEGETABLES, day=None, items=None, title="蔬菜包团购", supplier="江桥批发", brand=""
    ):
        return services.group_buy_propose(
            actor=head,
            leader=leader,
            title=title,
            category=category,
            supplier=supplier,
            brand=brand,
            delivery_date=day or timezone.localdate() + dt.timedelta(days=1),
            items=items or ITEMS,
        )

    return make


@pytest.fixture
def committee_mode(neighbourhood):
    settings = services.settings_for(neighbourhood.pk)
    settings.selection_mode = "committee"
    settings.save()
    return settings


@pytest.fixture
def open_buy(make_group_buy, leader, head, committee_mode):
    gb = make_group_buy(leader)
    services.group_buy_pick(actor=head, group_buy=gb)
    return services.group_buy_open(actor=head, group_buy=gb)


@pytest.fixture
def link_token(head):
    def make(household):
        link = account_services.household_link_issue(actor=head, household=household)
        return account_services.household_link_token(link)

    return make


def item_ids(gb):
    return [i.pk for i in gb.items.order_by("id")]


D = Decimal
