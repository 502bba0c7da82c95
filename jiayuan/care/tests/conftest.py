"""Care fixtures: residents with tags, a household link, users per role, API bearer headers."""

from __future__ import annotations

import pytest

from jiayuan.accounts import services as account_services
from jiayuan.accounts.services import api_token_create
from jiayuan.core.permissions import Role


@pytest.fixture
def link_token(head):
    def make(household):
        link = account_services.household_link_issue(actor=head, household=household)
        return account_services.household_link_token(link)

    return make


@pytest.fixture
def bearer():
    def make(user):
        _token, key = api_token_create(actor=None, user=user)
        return {"HTTP_AUTHORIZATION": f"Bearer {key}"}

    return make


@pytest.fixture
def resident(make_resident, household):
    return make_resident(household, name="王阿姨")


@pytest.fixture
def staff(make_user, neighbourhood):
    return make_user(Role.COMMITTEE_STAFF, neighbourhood, username="staff")


@pytest.fixture
def leader(make_user, building):
    return make_user(Role.BUILDING_LEADER, building, username="leader")


@pytest.fixture
def volunteer(make_user, building):
    return make_user(Role.VOLUNTEER, building, username="volunteer")
