"""Progress, missed, retest and antigen pages and their API lists: the number of queries does not
grow with the number of buildings, residents, samples or retests (no N+1)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jiayuan.accounts.services import api_token_create
from jiayuan.places.models import Building, Household
from jiayuan.screening import services

from .conftest import code

pytestmark = pytest.mark.django_db


def _grow(neighbourhood, compound, make_resident, *, buildings: int, start: int) -> list:
    """``buildings`` more buildings of 2 households × 3 residents; the residents."""
    people = []
    for n in range(start, start + buildings):
        b = Building.objects.create(
            compound=compound, neighbourhood=neighbourhood, number=str(n), name=f"{n}号楼", sort_key=n
        )
        for room in ("101", "102"):
            h = Household.objects.create(building=b, neighbourhood=neighbourhood, room=room)
            people += [make_resident(h, name=f"住户{n}{room}{k}") for k in range(3)]
    return people


def _sample_and_fail_a_tube(round_, actor, people, tube: str) -> None:
    """Swab the first five into ``tube``, the rest stay missed; the tube comes back positive."""
    for r in people[:5]:
        services.sample_scan(actor=actor, round_=round_, tube_barcode=tube, resident_code=code(r))
    status, body = services.tube_result_one(actor=actor, round_=round_, barcode=tube, result="positive")
    assert status == 200 and body["retests"] == 5


def _counts(client, urls, headers) -> dict[str, int]:
    out = {}
    for url in urls:
        client.get(url, **headers)  # warm caches that are legitimately per process
        with CaptureQueriesContext(connection) as ctx:
            resp = client.get(url, **headers)
        assert resp.status_code == 200, (url, resp.status_code)
        out[url] = len(ctx.captured_queries)
    return out


def test_pages_and_api_lists_do_not_grow_with_data(client, frozen, neighbourhood, building, staff, make_resident):
    compound = building.compound
    round_ = services.round_create(actor=staff, neighbourhood=neighbourhood, date=frozen, pool_size=5)
    first = _grow(neighbourhood, compound, make_resident, buildings=2, start=10)
    _sample_and_fail_a_tube(round_, staff, first, "P1")
    services.antigen_report_submit(actor=staff, resident=first[0], date=frozen, result="negative")

    _t, key = api_token_create(actor=None, user=staff)
    api = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    rid = round_.pk
    pages = [
        f"/screening/{rid}/",
        f"/screening/{rid}/missed/",
        f"/screening/{rid}/retests/",
        f"/screening/{rid}/exemptions/",
        "/screening/antigen/",
    ]
    apis = [
        f"/api/v1/rounds/{rid}/missed",
        f"/api/v1/rounds/{rid}/retests",
        f"/api/v1/rounds/{rid}/stats",
    ]
    client.force_login(staff)
    small = _counts(client, pages, {}) | _counts(client, apis, api)
    htmx_small = _counts(client, [f"/screening/{rid}/"], {"HTTP_HX_REQUEST": "true"})

    more = _grow(neighbourhood, compound, make_resident, buildings=6, start=20)
    _sample_and_fail_a_tube(round_, staff, more, "P2")
    for r in more[:4]:
        services.antigen_report_submit(actor=staff, resident=r, date=frozen, result="negative")
    big = _counts(client, pages, {}) | _counts(client, apis, api)
    htmx_big = _counts(client, [f"/screening/{rid}/"], {"HTTP_HX_REQUEST": "true"})

    assert big == small
    assert htmx_big == htmx_small
    assert max(big.values()) <= 25, big


def test_api_round_list_does_not_grow_with_rounds_on_chosen_buildings(
    client, frozen, neighbourhood, building, building2, staff
):
    _t, key = api_token_create(actor=None, user=staff)
    api = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    services.round_create(actor=staff, neighbourhood=neighbourhood, date=frozen, buildings=[building])
    small = _counts(client, ["/api/v1/rounds"], api)
    for chosen in ([building2], [building, building2], [building]):
        services.round_create(actor=staff, neighbourhood=neighbourhood, date=frozen, buildings=chosen)
    big = _counts(client, ["/api/v1/rounds"], api)
    assert big == small
    items = client.get("/api/v1/rounds", **api).json()["items"]
    assert sorted(r["building_ids"] for r in items) == sorted(
        [[building.pk], [building2.pk], sorted([building.pk, building2.pk]), [building.pk]]
    )


def test_sampling_code_for_a_street_user_looks_the_street_up_once(street, make_user, residents):
    from jiayuan.core.permissions import Role
    from jiayuan.screening.selectors import sampling_code_for

    officer = make_user(Role.COMMITTEE_STAFF, street)
    people = [*residents["b1"], *residents["b2"]]
    sampling_code_for(user=officer, resident=people[0])  # loads the user's assignments
    with CaptureQueriesContext(connection) as ctx:
        codes = [sampling_code_for(user=officer, resident=r) for r in people]
    assert codes == [code(r) for r in people]
    assert len(ctx.captured_queries) == 0


def test_missed_export_does_not_grow_with_buildings(
    client, frozen, neighbourhood, building, staff, make_resident, make_user
):
    import io

    from openpyxl import load_workbook

    from jiayuan.accounts.models import Assignment
    from jiayuan.core.permissions import Role

    round_ = services.round_create(actor=staff, neighbourhood=neighbourhood, date=frozen, pool_size=5)
    _grow(neighbourhood, building.compound, make_resident, buildings=2, start=10)
    client.force_login(staff)
    url = f"/screening/{round_.pk}/missed/export/"
    small = _counts(client, [url], {})
    more = _grow(neighbourhood, building.compound, make_resident, buildings=5, start=20)
    leader = make_user(Role.BUILDING_LEADER, more[0].household.building, username="leader20")
    assert Assignment.objects.get(user=leader).active
    big = _counts(client, [url], {})
    assert big == small
    rows = list(load_workbook(io.BytesIO(client.get(url).content)).active.iter_rows(values_only=True))
    assert len(rows) == 1 + 7 * 6
    by_name = {row[3]: row[6] for row in rows[1:]}
    assert by_name[more[0].name] == "leader20"
    assert not by_name[more[-1].name]  # building 25 has no leader (openpyxl reads "" as None)
