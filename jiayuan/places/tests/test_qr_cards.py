"""Household QR cards printed per building or compound, and the household link's WeChat message."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from jiayuan.accounts import services as account_services
from jiayuan.accounts.models import HouseholdLink
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.places import services as places_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def rooms(building):
    """Building 1 holds the shared ``household`` (1-301) and two more rooms."""
    return [
        places_services.household_create(actor=None, building=building, unit="1", room="302"),
        places_services.household_create(actor=None, building=building, unit="2", room="101"),
    ]


@pytest.fixture
def leader(make_user, building):
    return make_user(Role.BUILDING_LEADER, building, username="leader")


def _cards(html: str) -> list[str]:
    return re.findall(r'<article class="qr-card" data-household="(\d+)"', html)


def test_leader_prints_one_card_per_household_of_their_building(
    client, leader, head, household, rooms, household2, make_resident
):
    make_resident(household, name="周建国", phone="13900001111")
    for h in [household, *rooms, household2]:
        account_services.household_link_issue(actor=head, household=h)
    client.force_login(leader)
    before = AuditEvent.objects.filter(action="household_link.print").count()

    response = client.get(reverse("places:building_qr_cards", args=[household.building_id]))

    assert response.status_code == 200
    html = response.content.decode()
    assert sorted(_cards(html)) == sorted(str(h.pk) for h in [household, *rooms])
    assert html.count("<svg") == 3
    assert "扫码查看本户核酸、物资和通知" in html
    assert "1单元 301室" in html and "2单元 101室" in html
    # No names or phones on the cards.
    assert "周建国" not in html and "1111" not in html
    # Each card handed out is audited, as printing one household's card is.
    printed = AuditEvent.objects.filter(action="household_link.print").count() - before
    assert printed == 3


def test_households_without_a_link_are_listed_and_issued_on_request(client, leader, household, rooms):
    HouseholdLink.objects.all().delete()
    client.force_login(leader)
    url = reverse("places:building_qr_cards", args=[household.building_id])

    html = client.get(url).content.decode()
    assert _cards(html) == []
    assert 'id="missing-links"' in html
    assert "为这 3 户生成链接" in html
    assert AuditEvent.objects.filter(action="household_link.issue").count() == 0

    response = client.post(url)
    assert response.status_code == 302 and response.url == url
    assert HouseholdLink.objects.filter(revoked_at__isnull=True).count() == 3
    assert AuditEvent.objects.filter(action="household_link.issue", actor=leader).count() == 3

    html = client.get(url).content.decode()
    assert len(_cards(html)) == 3
    assert 'id="missing-links"' not in html

    # Issuing again changes nothing: households that have a link keep it.
    client.post(url)
    assert HouseholdLink.objects.count() == 3


def test_a_revoked_link_is_not_printed(client, leader, head, household, rooms):
    for h in [household, *rooms]:
        account_services.household_link_issue(actor=head, household=h)
    link = HouseholdLink.objects.get(household=household)
    account_services.household_link_revoke(actor=head, link=link)
    client.force_login(leader)
    html = client.get(reverse("places:building_qr_cards", args=[household.building_id])).content.decode()
    assert str(household.pk) not in _cards(html)
    assert len(_cards(html)) == 2
    assert "1单元 301室" in html  # named in the "no live link" note


def test_leader_cannot_print_another_building(client, leader, household2, building2):
    account_services.household_link_issue(actor=None, household=household2)
    client.force_login(leader)
    assert client.get(reverse("places:building_qr_cards", args=[building2.pk])).status_code == 404
    assert client.post(reverse("places:building_qr_cards", args=[building2.pk])).status_code == 404
    assert not HouseholdLink.objects.filter(household=household2, revoked_at__isnull=False).exists()


def test_compound_cards_hold_only_the_buildings_the_user_manages(client, leader, head, household, rooms, household2):
    for h in [household, *rooms, household2]:
        account_services.household_link_issue(actor=head, household=h)
    url = reverse("places:compound_qr_cards", args=[household.building.compound_id])

    client.force_login(leader)
    assert sorted(_cards(client.get(url).content.decode())) == sorted(str(h.pk) for h in [household, *rooms])

    client.force_login(head)
    assert len(_cards(client.get(url).content.decode())) == 4


@pytest.mark.parametrize("role", [Role.VOLUNTEER, Role.GATE_GUARD, Role.SAMPLER])
def test_roles_without_the_permission_get_404(client, make_user, building, household, role):
    client.force_login(make_user(role, building))
    assert client.get(reverse("places:building_qr_cards", args=[building.pk])).status_code == 404
    assert client.get(reverse("places:compound_qr_cards", args=[building.compound_id])).status_code == 404


def test_building_and_compound_pages_link_to_the_cards(client, leader, make_user, building, household):
    client.force_login(leader)
    assert (
        reverse("places:building_qr_cards", args=[building.pk])
        in client.get(reverse("places:building", args=[building.pk])).content.decode()
    )
    assert (
        reverse("places:compound_qr_cards", args=[building.compound_id])
        in client.get(reverse("places:compound", args=[building.compound_id])).content.decode()
    )
    client.force_login(make_user(Role.VOLUNTEER, building))
    html = client.get(reverse("places:building", args=[building.pk])).content.decode()
    assert "qr-cards" not in html


def test_household_link_page_offers_the_link_with_a_wechat_message(client, leader, household):
    account_services.household_link_issue(actor=None, household=household)
    client.force_login(leader)
    detail = client.get(reverse("places:household", args=[household.pk])).content.decode()
    assert "复制链接发微信" in detail

    html = client.get(reverse("places:household_link_card", args=[household.pk])).content.decode()
    match = re.search(r'<textarea id="link-message-text"[^>]*>(.*?)</textarea>', html, re.S)
    assert match is not None
    message = match.group(1)
    assert "泰和苑 1号楼 1单元 301室" in message or "1单元 301室" in message
    assert "请勿转发" in message
    token = re.search(r"/h/([^/\s]+)/", message).group(1)
    assert account_services.household_link_resolve(token).household_id == household.pk
    assert 'data-copy-target="#link-message-text"' in html
    assert "onclick" not in html
