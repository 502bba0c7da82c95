"""Household access links: signed, household-scoped, revocable, printable as a QR code."""

from __future__ import annotations

import pytest
from django.core import signing

from jiayuan.accounts import services
from jiayuan.accounts.models import HouseholdLink
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role


@pytest.fixture
def leader(make_user, building):
    return make_user(Role.BUILDING_LEADER, building, username="leader")


def _token(link):
    return services.household_link_token(link)


@pytest.mark.django_db
def test_leader_issues_link_and_household_opens_it_without_login(client, leader, household, make_resident):
    make_resident(household, name="孙奶奶")
    client.force_login(leader)
    response = client.post(f"/places/households/{household.pk}/link/issue/")
    assert response.status_code == 302
    link = HouseholdLink.objects.get(household=household)
    card = client.get(f"/places/households/{household.pk}/link/card/").content.decode()
    assert "<svg" in card and "1号楼" in card
    client.logout()
    home = client.get(f"/h/{_token(link)}/")
    assert home.status_code == 200
    assert "孙奶奶" in home.content.decode()
    assert AuditEvent.objects.filter(action="household_link.issue").count() == 1
    assert AuditEvent.objects.filter(action="household_link.print").count() == 1


@pytest.mark.django_db
def test_qr_svg_encodes_the_link(client, leader, household):
    client.force_login(leader)
    client.post(f"/places/households/{household.pk}/link/issue/")
    response = client.get(f"/places/households/{household.pk}/link/qr.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")


@pytest.mark.django_db
def test_revoked_link_no_longer_opens(client, leader, household):
    link = services.household_link_issue(actor=leader, household=household)
    token = _token(link)
    client.force_login(leader)
    assert client.post(f"/places/households/{household.pk}/link/revoke/").status_code == 302
    client.logout()
    response = client.get(f"/h/{token}/")
    assert response.status_code == 404
    assert "链接无效或已失效" in response.content.decode()


@pytest.mark.django_db
def test_reissue_revokes_the_old_link(leader, household):
    first = services.household_link_issue(actor=leader, household=household)
    second = services.household_link_issue(actor=leader, household=household)
    assert services.household_link_resolve(_token(first)) is None
    assert services.household_link_resolve(_token(second)).pk == second.pk
    assert HouseholdLink.objects.filter(household=household, revoked_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_forged_or_tampered_tokens_are_refused(leader, household, household2):
    link = services.household_link_issue(actor=leader, household=household)
    # Same nonce, other household id, signed with the wrong salt: refused.
    forged = signing.dumps({"l": link.pk, "n": link.nonce}, salt="something-else", compress=True)
    assert services.household_link_resolve(forged) is None
    # Right salt but a guessed nonce: refused.
    guessed = signing.dumps({"l": link.pk, "n": "guess"}, salt=services.LINK_SALT, compress=True)
    assert services.household_link_resolve(guessed) is None
    assert services.household_link_resolve(_token(link)[:-2] + "xx") is None
    assert services.household_link_resolve("") is None


@pytest.mark.django_db
def test_link_shows_only_its_own_household(client, leader, household, household2, make_resident):
    make_resident(household, name="本户人")
    make_resident(household2, name="别户人")
    link = services.household_link_issue(actor=leader, household=household)
    body = client.get(f"/h/{_token(link)}/").content.decode()
    assert "本户人" in body and "别户人" not in body


@pytest.mark.django_db
def test_leader_cannot_manage_links_outside_their_buildings(client, leader, household2):
    client.force_login(leader)
    assert client.post(f"/places/households/{household2.pk}/link/issue/").status_code == 404
    assert client.get(f"/places/households/{household2.pk}/link/card/").status_code == 404
    assert not HouseholdLink.objects.exists()


@pytest.mark.django_db
def test_volunteer_cannot_manage_links(client, make_user, building, household):
    client.force_login(make_user(Role.VOLUNTEER, building))
    assert client.post(f"/places/households/{household.pk}/link/issue/").status_code == 404
    page = client.get(f"/places/households/{household.pk}/").content.decode()
    assert "生成住户链接" not in page
