"""Group-buy order benchmark: orders/s through the HTTP API with 50 concurrent households
against limited stock, and the oversell count (must be 0).

    createdb -h 127.0.0.1 -U postgres jiayuan_bench_supplies
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jiayuan_bench_supplies .venv/bin/jiayuan migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jiayuan_bench_supplies \\
        .venv/bin/python bench/orders.py [--households 50] [--stock 2000] [--workers 2] [--keep]

Uses the database the app is configured for (``DATABASE_URL``; SQLite works too, where writes
are serialised). Creates a throwaway neighbourhood ``BENCH-ORD-<pid>`` with N households (each
with its household link), an approved leader and an open group buy whose two items have a
limited total quantity; starts a real server (granian, WSGI, ``--workers`` processes) on a free
port; then N threads — one per household, each with its own keep-alive connection — post
orders with the household's link token (``POST /api/v1/group-buys/{id}/orders``) until the
stock is gone. One request in ten is immediately retried with the same idempotency key (a
phone on a bad network): it must be answered with the same order and stored once.

Prints requests, orders/s, 409 (sold out) answers, latency p50/p95/p99, the server's CPU time
per request (from /proc, so runs can be compared on a machine that is busy with other work),
and checks in the database that the
quantities ordered never exceed the stock (oversell = 0), that the item counters match the
order lines, and that every idempotent retry was stored once. Deletes what it created unless
``--keep`` (audit events are append-only and stay). Never run by the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiayuan.settings")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.4\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup(households: int, stock: int):
    from django.utils import timezone

    from jiayuan.accounts.services import household_link_issue, household_link_token
    from jiayuan.places import services as places
    from jiayuan.places.models import Street
    from jiayuan.supplies import services

    street = Street.objects.filter(code="BENCH-ST").first() or places.street_create(
        actor=None, code="BENCH-ST", name="基准街道"
    )
    code = f"BENCH-ORD-{os.getpid()}"
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


def start_server(port: int, workers: int) -> subprocess.Popen:
    # Persistent database connections, as a real deployment runs (see docs/operator-guide.md).
    env = dict(os.environ, JIAYUAN_ALLOWED_HOSTS="127.0.0.1,localhost")
    env.setdefault("JIAYUAN_CONN_MAX_AGE", "60")
    cmd = [
        str(ROOT / ".venv/bin/granian"),
        "--interface",
        "wsgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--blocking-threads",
        "8",
        "--log-level",
        "warning",
        "jiayuan.wsgi:application",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/openapi.json")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("granian did not start")


def server_cpu_seconds(root_pid: int) -> float:
    """User + system CPU of the server process and its workers (Linux /proc), so the cost per
    order can be compared between runs even when other work shares the machine."""
    try:
        tick = os.sysconf("SC_CLK_TCK")
        stats = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    except (OSError, ValueError):
        return float("nan")
    tree, total = {root_pid}, 0
    changed = True
    while changed:
        changed = False
        for pid, (ppid, _cpu) in stats.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                changed = True
    for pid in tree:
        total += stats.get(pid, (0, 0))[1]
    return total / tick


def drive(port: int, gb_id: int, items: list[int], tokens: list[str]) -> dict:
    results = {"201": 0, "409": 0, "other": 0, "retries": 0, "retry_mismatch": 0, "latencies": []}
    lock = threading.Lock()
    barrier = threading.Barrier(len(tokens))
    path = f"/api/v1/group-buys/{gb_id}/orders"

    def household(n: int, token: str) -> None:
        rng = random.Random(n)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        sold_out = 0
        seq = 0
        barrier.wait()
        while sold_out < 2:
            seq += 1
            key = f"bench-{n}-{seq}"
            body = {
                "token": token,
                "items": [{"item": items[0], "quantity": rng.randint(1, 3)}],
                "idempotency_key": key,
            }
            if rng.random() < 0.5:
                body["items"].append({"item": items[1], "quantity": 1})
            payload = json.dumps(body)
            attempts = 2 if rng.random() < 0.1 else 1
            answers = []
            for _ in range(attempts):
                t0 = time.perf_counter()
                conn.request("POST", path, payload, {"Content-Type": "application/json"})
                response = conn.getresponse()
                data = response.read()
                elapsed = time.perf_counter() - t0
                answers.append((response.status, data))
                with lock:
                    results["latencies"].append(elapsed)
            status = answers[0][0]
            with lock:
                if status == 201:
                    results["201"] += 1
                elif status == 409:
                    results["409"] += 1
                else:
                    results["other"] += 1
                if attempts == 2:
                    results["retries"] += 1
                    if answers[0][0] == 201 and json.loads(answers[0][1]) != json.loads(answers[1][1]):
                        results["retry_mismatch"] += 1
            if status == 409:
                sold_out += 1
            elif status != 201:
                print("unexpected answer", status, answers[0][1][:200], file=sys.stderr)
                break
        conn.close()

    threads = [threading.Thread(target=household, args=(n, t)) for n, t in enumerate(tokens)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results["elapsed"] = time.perf_counter() - t0
    return results


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
    parser.add_argument("--workers", type=int, default=2, help="granian worker processes")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    nb, gb, items, tokens = setup(args.households, args.stock)
    connection.close()
    port = free_port()
    server = start_server(port, args.workers)
    try:
        cpu0 = server_cpu_seconds(server.pid)
        results = drive(port, gb.pk, items, tokens)
        results["server_cpu"] = server_cpu_seconds(server.pid) - cpu0
    finally:
        server.terminate()
        server.wait(timeout=30)
    report = check(gb)
    lat = sorted(results["latencies"])
    requests = len(lat)
    print(f"households: {args.households} concurrent, granian workers: {args.workers}")
    print(f"requests: {requests} in {results['elapsed']:.2f}s ({requests / results['elapsed']:.0f} req/s)")
    print(f"orders accepted: {results['201']} → {results['201'] / results['elapsed']:.0f} orders/s")
    print(f"sold out (409): {results['409']}, other errors: {results['other']}")
    print(f"server CPU: {results['server_cpu'] * 1000 / max(requests, 1):.1f} ms per request")
    if lat:
        p50, p95, p99 = (lat[min(len(lat) - 1, int(len(lat) * q))] * 1000 for q in (0.5, 0.95, 0.99))
        print(f"latency p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms")
    print(f"idempotent retries: {results['retries']}, answered differently: {results['retry_mismatch']}")
    for key, value in report.items():
        print(f"{key}: {value}")
    ok = report["oversell"] == 0 and report["counter_mismatch"] == 0 and report["orders stored"] == results["201"]
    print("OVERSELL: 0 — OK" if ok else "CHECK FAILED")
    if not args.keep:
        cleanup(nb)
        print(f"deleted neighbourhood {nb.code}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
