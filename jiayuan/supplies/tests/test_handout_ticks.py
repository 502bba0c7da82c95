"""Handout ticks (issue 15): in place with htmx, undoable, audited both ways, with the
building's and the round's progress in the same answer."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from jiayuan.core.audit import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.places import services as places
from jiayuan.supplies import selectors, services
from jiayuan.supplies.models import HandoutReceipt

pytestmark = pytest.mark.django_db


@pytest.fixture
def rnd(head, neighbourhood):
    return services.handout_round_create(
        actor=head, neighbourhood=neighbourhood, title="第一批政府保供包", package="米面油肉蛋"
    )


def test_undo_removes_the_receipt_and_both_are_audited(rnd, head, household):
    services.handout_mark_received(actor=head, round=rnd, household=household)
    services.handout_unmark_received(actor=head, round=rnd, household=household)
    assert not HandoutReceipt.objects.exists()
    events = AuditEvent.objects.filter(action__startswith="supplies.handout", object_id=str(rnd.pk)).order_by("id")
    assert [e.action for e in events] == [
        "supplies.handout_round_create",
        "supplies.handout_receive",
        "supplies.handout_undo",
    ]
    assert events.last().changes["household"] == household.pk
    with pytest.raises(ValidationError, match="无需撤销"):
        services.handout_unmark_received(actor=head, round=rnd, household=household)
    services.handout_mark_received(actor=head, round=rnd, household=household)  # ticked again after the undo
    assert HandoutReceipt.objects.count() == 1


def test_progress_lists_every_row_with_its_state(rnd, head, household, household2, building):
    places.household_create(actor=None, building=building, unit=household.unit, room="302")
    services.handout_mark_received(actor=head, round=rnd, household=household)
    blocks = {b["building"].pk: b for b in selectors.handout_progress(user=head, round=rnd)}
    rows = blocks[building.pk]["rows"]
    assert [(r["household"].room, r["received"]) for r in rows] == [("301", True), ("302", False)]
    assert (blocks[building.pk]["received"], blocks[building.pk]["expected"]) == (1, 2)


def test_htmx_tick_answers_the_row_and_the_counts_in_place(client, rnd, head, household, household2, building):
    client.force_login(head)
    r = client.post(
        reverse("supplies:handout_receive", args=[rnd.pk]), {"household": household.pk}, HTTP_HX_REQUEST="true"
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert html.count(f'id="ho-{household.pk}"') == 1 and "撤销" in html  # the row, now undoable
    assert f'id="progress-{building.pk}" class="sup-progress" hx-swap-oob="true"' in html
    assert "1 / 1" in html and "已发完" in html  # the building is done
    assert 'id="handout-total"' in html and "1 / 2" in html  # the round: one of two households
    assert f'id="chip-{building.pk}"' in html
    assert "已登记领取" in html

    r = client.post(
        reverse("supplies:handout_undo", args=[rnd.pk]), {"household": household.pk}, HTTP_HX_REQUEST="true"
    )
    html = r.content.decode()
    assert not HandoutReceipt.objects.exists()
    assert "已撤销领取" in html and ">已领</button>" in html and "0 / 2" in html


def test_a_second_tick_of_the_same_row_says_so_and_shows_the_row_as_it_is(client, rnd, head, household):
    services.handout_mark_received(actor=head, round=rnd, household=household)
    client.force_login(head)
    r = client.post(
        reverse("supplies:handout_receive", args=[rnd.pk]), {"household": household.pk}, HTTP_HX_REQUEST="true"
    )
    html = r.content.decode()
    assert r.status_code == 200 and "已经登记领取" in html and "撤销" in html
    assert HandoutReceipt.objects.count() == 1


def test_without_htmx_the_tick_returns_to_the_building(client, rnd, head, household, building):
    client.force_login(head)
    r = client.post(reverse("supplies:handout_undo", args=[rnd.pk]), {"household": household.pk})
    assert r.status_code == 302 and r.url.endswith(f"#building-{building.pk}")
    r = client.post(reverse("supplies:handout_receive", args=[rnd.pk]), {"household": household.pk})
    assert r.url.endswith(f"#building-{building.pk}")
    assert HandoutReceipt.objects.count() == 1


def test_a_household_outside_the_users_buildings_is_404_for_tick_and_undo(
    client, rnd, head, household, household2, building, make_user
):
    services.handout_mark_received(actor=head, round=rnd, household=household2)
    volunteer = make_user(Role.VOLUNTEER, building)
    client.force_login(volunteer)
    for name in ("supplies:handout_receive", "supplies:handout_undo"):
        r = client.post(reverse(name, args=[rnd.pk]), {"household": household2.pk}, HTTP_HX_REQUEST="true")
        assert r.status_code == 404
    assert HandoutReceipt.objects.filter(household=household2).exists()


def test_a_viewer_who_cannot_tick_gets_no_buttons_and_a_404(client, rnd, head, household, make_user, neighbourhood):
    officer = make_user(Role.OWNERS_COMMITTEE, neighbourhood)
    client.force_login(officer)
    page = client.get(reverse("supplies:handout", args=[rnd.pk]))
    if page.status_code == 200:
        assert "hx-post" not in page.content.decode()
    r = client.post(reverse("supplies:handout_receive", args=[rnd.pk]), {"household": household.pk})
    assert r.status_code == 404
    assert not HandoutReceipt.objects.exists()
