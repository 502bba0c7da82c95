"""Group-buy order benchmark: 50 households ordering at once through the HTTP API against limited
stock, measured against the ceiling (``bench/_harness.py``); oversell must be 0.

    createdb -h 127.0.0.1 -U postgres jiayuan_bench_supplies
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jiayuan_bench_supplies .venv/bin/jiayuan migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jiayuan_bench_supplies \\
        .venv/bin/python bench/orders.py [--households 50] [--stock 2000] [--repeat 3] [--workers N]
        [--server-threads 4] [--clients 2] [--keep]

Uses the database the app is configured for (``DATABASE_URL``; SQLite works too, where writes
are serialised). ``granian`` serves the app (``--workers`` processes × ``--server-threads``).
Each run measures the ceiling (``POST /bench/ceiling``, one INSERT, over as many connections
as there are households) in slices alternating with the orders. It creates a throwaway
neighbourhood ``BENCH-ORD-<pid>-<run>`` with N households (each with its household link), an
approved leader and an open group buy whose two items have a limited total quantity, and each
household — its own keep-alive connection — posts orders with its link token
(``POST /api/v1/group-buys/{id}/orders``): about 1.15× the first item's stock is asked for, so
it sells out. One request in ten is sent again with the same idempotency key (a phone on a bad
network): it must be answered with the same order and stored once.

Prints, per run, orders/s against the ceiling's requests/s (the ratio is the figure; target
≥ 25 %), latency p50/p99 (target p99 ≤ 250 ms), 409 (sold out) answers, the CPU per request of
the server and of PostgreSQL, and checks in the database that the quantities ordered never exceed
the stock (oversell = 0), that the item counters match the order lines, and that every
idempotent retry was stored once; then the best and median ratio. Deletes what it created unless
``--keep`` (audit events are append-only and stay). Never run by the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiayuan.settings")

import _harness as h  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.4\n"


def setup(households: int, stock: int, run: int = 1):
    from django.utils import timezone

    from jiayuan.accounts.services import household_link_issue, household_link_token
    from jiayuan.places import services as places
    from jiayuan.places.models import Street
    from jiayuan.supplies import services

    street = Street.objects.filter(code="BENCH-ST").first() or places.street_create(
        actor=None, code="BENCH-ST", name="基准街道"
    )
    code = f"BENCH-ORD-{os.getpid()}-{run}"
    nb = places.neighbourhood_create(actor=None, street=street, code=code, name="基准居民区")
    compound = places.compound_create(actor=None, neighbourhood=nb, name="基准小区")
    buildings = [places.building_create(actor=None, compound=compound, number=str(n + 1)) for n in range(5)]
    homes = [
        places.household_create(actor=None, building=buildings[n % 5], unit="1", room=str(101 + n))
        for n in range(households)
    ]
    tokens = [household_link_token(household_link_issue(actor=None, household=h)) for h in homes]
    settings = services.settings_for(nb.pk)
    settings.selection_mode = "committee"
    settings.save()
    expires = timezone.localdate() + dt.timedelta(days=90)
    leader = services.leader_apply(
        actor="bench",
        household=homes[0],
        name="基准团长",
        channel="bench",
        documents=[
            {"kind": "permit", "expires_on": expires, "filename": "p.png", "data": PNG},
            {"kind": "licence", "expires_on": expires, "filename": "l.pdf", "data": PDF},
        ],
    )
    services.leader_review(actor="bench", leader=leader, approve=True)
    gb = services.group_buy_propose(
        actor="bench",
        leader=leader,
        title="基准团购",
        category="rice_oil",
        supplier="bench",
        delivery_date=timezone.localdate() + dt.timedelta(days=1),
        items=[
            {"name": "大米", "unit_price": "45", "total_quantity": stock},
            {"name": "食用油", "unit_price": "79", "total_quantity": stock // 2},
        ],
    )
    services.group_buy_pick(actor="bench", group_buy=gb)
    services.group_buy_open(actor="bench", group_buy=gb)
    items = list(gb.items.order_by("id").values_list("id", flat=True))
    return nb, gb, items, tokens


def jobs_for(gb_id: int, items: list[int], tokens: list[str], stock: int, seed: int) -> tuple[list, int]:
    """One job list per household: enough orders that the first item sells out (about 1.15× its
    stock is asked for), each one in ten sent twice with the same idempotency key."""
    path = f"/api/v1/group-buys/{gb_id}/orders"
    per_household = max(2, int(stock * 1.15 / 2 / len(tokens)) + 1)  # 2 units of rice per order on average
    jobs, retries = [], 0
    for n, token in enumerate(tokens):
        rng = random.Random(seed * 1000 + n)
        job = []
        for seq in range(per_household):
            body = {
                "token": token,
                "items": [{"item": items[0], "quantity": rng.randint(1, 3)}],
                "idempotency_key": f"bench-{seed}-{n}-{seq}",
            }
            if rng.random() < 0.5:
                body["items"].append({"item": items[1], "quantity": 1})
            payload = json.dumps(body).encode()
            job.append((path, payload))
            if rng.random() < 0.1:  # a phone on a bad network sends it again
                job.append((path, payload, {"X-Bench-Retry": "1"}))
                retries += 1
        jobs.append(job)
    return jobs, retries


def retry_mismatches(results: list) -> int:
    """Requests sent twice (same body, same idempotency key) where one was accepted (201) and the
    other answered differently (two 409s may name different quantities left)."""
    answers: dict[bytes, set[tuple[int, bytes]]] = {}
    for _lat, status, data, body in results:
        answers.setdefault(body, set()).add((status, data))
    return sum(1 for seen in answers.values() if len(seen) > 1 and any(status == 201 for status, _d in seen))


def check(gb) -> dict:
    from django.db.models import Sum

    from jiayuan.supplies.models import GroupBuyItem, Order, OrderLine

    report = {"oversell": 0, "counter_mismatch": 0}
    for item in GroupBuyItem.objects.filter(group_buy=gb):
        ordered = OrderLine.objects.filter(item=item, order__status="active").aggregate(n=Sum("quantity"))["n"] or 0
        report["oversell"] += max(0, ordered - (item.total_quantity or ordered))
        report["counter_mismatch"] += int(ordered != item.ordered_quantity)
        report[f"{item.name} ordered/stock"] = f"{ordered}/{item.total_quantity}"
    report["orders stored"] = Order.objects.filter(group_buy=gb).count()
    return report


def cleanup(nb) -> None:
    from jiayuan.accounts.models import HouseholdLink
    from jiayuan.places.models import Building, Compound, Household
    from jiayuan.supplies.models import (
        GroupBuy,
        GroupBuyItem,
        GroupBuyLeader,
        LeaderDocument,
        Order,
        OrderLine,
        SuppliesSettings,
    )

    OrderLine.objects.filter(neighbourhood=nb).delete()
    Order.objects.filter(neighbourhood=nb).delete()
    GroupBuyItem.objects.filter(neighbourhood=nb).delete()
    GroupBuy.objects.filter(neighbourhood=nb).delete()
    LeaderDocument.objects.filter(neighbourhood=nb).delete()
    GroupBuyLeader.objects.filter(neighbourhood=nb).delete()
    SuppliesSettings.objects.filter(neighbourhood=nb).delete()
    HouseholdLink.objects.filter(neighbourhood=nb).delete()
    Household.objects.filter(neighbourhood=nb).delete()
    Building.objects.filter(neighbourhood=nb).delete()
    Compound.objects.filter(neighbourhood=nb).delete()
    nb.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=50)
    parser.add_argument("--stock", type=int, default=2000, help="total quantity of the first item")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="granian worker processes")
    parser.add_argument("--server-threads", type=int, default=4, help="granian blocking threads per worker")
    parser.add_argument("--clients", type=int, default=2, help="client processes (the households' threads spread)")
    parser.add_argument("--repeat", type=int, default=3, help="runs, each with its ceiling and a new group buy")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    made = []
    figures: list[h.Figure] = []
    failed = False
    server = h.Server(args.workers, args.server_threads)
    print(
        f"orders: {args.households} households at once ({args.clients} client processes); granian {args.workers} "
        f"workers × {args.server_threads} threads; {os.cpu_count()} cores"
    )
    try:
        for run in range(1, args.repeat + 1):
            nb, gb, items, tokens = setup(args.households, args.stock, run)
            made.append(nb)
            connection.close()
            jobs, retries = jobs_for(gb.pk, items, tokens, args.stock, run)
            # The ceiling and the orders in alternating slices: same server, connections and load.
            top, res = h.alternate(server, jobs, args.clients)
            print(f"  run {run} ceiling: {top.rate():,.0f} req/s; p50 {top.p(50) * 1000:.1f} ms ({top.load})")
            report = check(gb)
            connection.close()
            created = {json.loads(r[2])["id"] for r in res.results if r[1] == 201}
            fig = h.Figure("group-buy order", res.rate(len(created)), top.rate(), res.p(50), res.p(99), res.load)
            figures.append(fig)
            other = len(res.results) - res.count(201) - res.count(409)
            print(f"  run {run} {h.ratio_line(fig, 0.25)}")
            print(
                f"    {len(res.results):,} requests in {res.elapsed:.2f}s ({res.rate():,.0f} req/s): "
                f"{len(created):,} orders, {res.count(409):,} sold out (409), {other} other; "
                f"{retries} idempotent retries, answered differently: {retry_mismatches(res.results)}"
            )
            print(f"    {res.cpu_line(len(res.results))}")
            print("    check: " + ", ".join(f"{k} {v}" for k, v in report.items()))
            ok = (
                report["oversell"] == 0
                and report["counter_mismatch"] == 0
                and report["orders stored"] == len(created)
                and other == 0
                and fig.p99 <= 0.250
            )
            failed = failed or not ok
            print("    OVERSELL 0, p99 ≤ 250 ms — OK" if ok else "    CHECK FAILED")
    finally:
        server.stop()
        h.drop_ceiling_table()
        if not args.keep:
            for nb in made:
                cleanup(nb)
            print(f"deleted {len(made)} bench neighbourhoods")
    print(h.summary("group-buy orders, 50 households at once", figures, 0.25))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
