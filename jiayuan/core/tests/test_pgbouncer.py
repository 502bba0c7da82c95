"""Behind PgBouncer in transaction mode, on the real engines (ADR 0016).

Run by ``scripts/test.sh`` with ``DATABASE_URL`` pointing at a private PgBouncer that
``scripts/pgbouncer.sh`` starts on loopback in front of the PostgreSQL server, and
``DATABASE_PGBOUNCER=1``; skipped elsewhere. The tests commit (``transaction=True``): each request's
transactions go through PgBouncer one by one, so any state kept on a server connection between
transactions (a prepared statement, a server-side cursor WITH HOLD, a ``SET``) would break.
"""

from __future__ import annotations

import threading

import psycopg
import pytest
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from jiayuan.accounts import services as account_services
from jiayuan.accounts.services import api_token_create
from jiayuan.core.permissions import Role
from jiayuan.places import services as places
from jiayuan.screening import services as screening
from jiayuan.screening.codes import sampling_code
from jiayuan.screening.models import AntigenReport, Sample
from jiayuan.supplies import services as supplies
from jiayuan.supplies.models import GroupBuyItem, Order
from jiayuan.supplies.tests import conftest as supplies_fixtures

# The supplies app's fixtures, reused here (a leader, a group buy, household link tokens).
committee_mode = supplies_fixtures.committee_mode
make_leader = supplies_fixtures.make_leader
make_group_buy = supplies_fixtures.make_group_buy
link_token = supplies_fixtures.link_token
item_ids = supplies_fixtures.item_ids

pytestmark = [
    pytest.mark.pgbouncer,
    pytest.mark.skipif(not settings.DATABASE_PGBOUNCER, reason="not behind PgBouncer (DATABASE_PGBOUNCER=1)"),
    pytest.mark.django_db(transaction=True),
]


def _admin(query: str) -> list[tuple]:
    """A query on PgBouncer's admin console (its simple query protocol: a client-side cursor)."""
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"],
        port=int(db["PORT"]),
        user=db["USER"] or "postgres",
        dbname="pgbouncer",
        autocommit=True,
        cursor_factory=psycopg.ClientCursor,
    ) as admin:
        cur = admin.cursor()
        cur.execute(query)
        names = [d.name for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _transactions() -> int:
    """Transactions PgBouncer has passed to the server for the test database so far."""
    name = connection.settings_dict["NAME"]
    return sum(int(r["total_xact_count"]) for r in _admin("SHOW STATS") if r["database"] == name)


def _bearer(user) -> dict:
    _t, key = api_token_create(actor=None, user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_the_connection_goes_through_pgbouncer_in_transaction_mode():
    config = {r["key"]: r["value"] for r in _admin("SHOW CONFIG")}
    assert config["pool_mode"] == "transaction"
    with connection.cursor() as cur:
        cur.execute("SELECT inet_server_port()")
        server_port = cur.fetchone()[0]
    client_port = connection.connection.info.port
    assert client_port == int(connection.settings_dict["PORT"])
    assert server_port != client_port  # PgBouncer listens on one port, PostgreSQL on another
    # The settings switch: no psycopg prepared statements, no server-side cursors.
    assert connection.connection.prepare_threshold is None
    assert connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] is True


def test_scans_and_antigen_reports_through_pgbouncer(client, neighbourhood, household, make_resident, make_user):
    residents = [make_resident(household, name=f"居民{n}") for n in range(12)]
    staff = make_user(Role.COMMITTEE_STAFF, neighbourhood)
    sampler = make_user(Role.SAMPLER, neighbourhood)
    round_ = screening.round_create(actor=staff, neighbourhood=neighbourhood, date=timezone.localdate(), pool_size=10)
    before = _transactions()
    url = f"/api/v1/rounds/{round_.pk}/samples"
    headers = _bearer(sampler)
    # More than psycopg's default prepare threshold (5) of the same statements.
    for n, r in enumerate(residents[:10]):
        body = {"tube": "T1", "resident_code": sampling_code(r.pk), "idempotency_key": f"k{n}"}
        resp = client.post(url, body, content_type="application/json", **headers)
        assert resp.status_code == 201, resp.content
    assert resp.json()["closed"] is True
    again = client.post(
        url,
        {"tube": "T1", "resident_code": sampling_code(residents[9].pk), "idempotency_key": "k9"},
        content_type="application/json",
        **headers,
    )
    assert again.status_code == 201  # a retried scan answers as before and is stored once
    assert Sample.objects.filter(round=round_).count() == 10
    # The resident's own report through the household link (a page, with the session).
    link = account_services.household_link_issue(actor=staff, household=household)
    token = account_services.household_link_token(link)
    resp = client.post(f"/h/{token}/screening/antigen/", {"resident": residents[11].pk, "result": "negative"})
    assert resp.status_code == 302
    assert AntigenReport.objects.filter(resident=residents[11], result="negative").count() == 1
    assert _transactions() > before + 10  # the requests' transactions did pass through PgBouncer


def test_an_export_page_streams_through_pgbouncer(client, neighbourhood, household, make_resident, head):
    for n in range(30):
        make_resident(household, name=f"导出{n}")
    client.force_login(head)
    # The roster export reads with .iterator(): a server-side cursor WITH HOLD unless disabled.
    resp = client.get("/people/export/")
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("application/vnd.openxmlformats")
    assert resp.content[:2] == b"PK"  # an xlsx (zip) file, not an error page


def test_concurrent_orders_through_pgbouncer_never_oversell(
    building,
    head,
    committee_mode,
    make_leader,
    make_group_buy,
    link_token,
):
    households = [
        places.household_create(actor=None, building=building, unit="3", room=str(200 + n)) for n in range(24)
    ]
    gb = make_group_buy(
        make_leader(households[0]),
        items=[{"name": "蔬菜包", "unit": "份", "unit_price": "68", "total_quantity": 15, "per_household_limit": 1}],
    )
    supplies.group_buy_pick(actor=head, group_buy=gb)
    supplies.group_buy_open(actor=head, group_buy=gb)
    (veg,) = item_ids(gb)
    tokens = [link_token(h) for h in households]
    connections.close_all()
    barrier = threading.Barrier(len(households))
    statuses: list[int] = []

    def order(token: str) -> None:
        from django.test import Client

        try:
            barrier.wait()
            resp = Client().post(
                f"/api/v1/group-buys/{gb.pk}/orders",
                {"token": token, "items": [{"item": veg, "quantity": 1}]},
                content_type="application/json",
            )
            statuses.append(resp.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=order, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(set(statuses)) == [201, 409]  # sold out answered as such, never a 500
    assert statuses.count(201) == 15
    assert Order.objects.filter(group_buy=gb).count() == 15
    assert GroupBuyItem.objects.get(pk=veg).ordered_quantity == 15


@pytest.mark.parametrize("prepare_threshold", [0, None])
def test_why_prepared_statements_are_off(prepare_threshold):
    """A statement psycopg prepared on one server connection is unknown on the next one PgBouncer
    lends: that is what ``prepare_threshold=None`` (the switch) avoids."""
    db = connection.settings_dict
    params = {"host": db["HOST"], "port": int(db["PORT"]), "user": db["USER"] or "postgres", "dbname": db["NAME"]}
    with (
        psycopg.connect(**params, autocommit=True, prepare_threshold=prepare_threshold) as phone,
        psycopg.connect(**params, autocommit=True) as other,
    ):
        phone.execute("SELECT count(*) FROM places_street")  # prepared at once with threshold 0
        with other.transaction():
            # PgBouncer lends the most recently used server connection (LIFO) to the other client,
            # for the whole transaction: the next statement of ``phone`` runs on another one.
            other.execute("SELECT pg_backend_pid()")
            if prepare_threshold is None:
                assert phone.execute("SELECT count(*) FROM places_street").fetchone()[0] >= 0
            else:
                with pytest.raises(psycopg.errors.InvalidSqlStatementName):
                    phone.execute("SELECT count(*) FROM places_street")
