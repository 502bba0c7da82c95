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
