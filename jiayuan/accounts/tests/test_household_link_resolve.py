"""``household_link_resolve`` reads the link and its places in one query (the household link's hot path)."""

from __future__ import annotations

from jiayuan.accounts import services


def test_resolve_loads_household_building_compound_and_neighbourhood_in_one_query(household, django_assert_num_queries):
    link = services.household_link_issue(actor=None, household=household)
    token = services.household_link_token(link)
    services.household_link_resolve(token)  # records last use (an UPDATE at most every 5 minutes)
    with django_assert_num_queries(1):
        found = services.household_link_resolve(token)
        assert found.pk == link.pk
        assert found.household == household
        assert found.household.building.compound.pk == household.building.compound_id
        assert found.neighbourhood.pk == household.neighbourhood_id
        assert found.household.label == household.label


def test_resolve_refuses_revoked_forged_and_out_of_range(household):
    link = services.household_link_issue(actor=None, household=household)
    token = services.household_link_token(link)
    link.nonce = "x" * len(link.nonce)
    assert services.household_link_resolve(services.household_link_token(link)) is None
    link.refresh_from_db()
    link.pk = 2**70
    assert services.household_link_resolve(services.household_link_token(link)) is None
    assert services.household_link_resolve(token[:-2]) is None
    services.household_link_revoke(actor=None, link=services.household_link_resolve(token))
    assert services.household_link_resolve(token) is None
