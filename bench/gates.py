"""Gate passage benchmark: one-scan passages/s through the HTTP API at a morning peak, beside the
ceiling (one INSERT, same server, same client, same run).

    createdb -h 127.0.0.1 -U postgres jiayuan_bench_gates
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jiayuan_bench_gates .venv/bin/jiayuan migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jiayuan_bench_gates \\
        .venv/bin/python bench/gates.py [--guards 16] [--scans 4000] [--residents 20000]
        [--workers N] [--server-threads 4] [--clients 2] [--repeat 3] [--keep]

PostgreSQL only (residents are generated in the database, as ``bench/screening.py`` does). A
throwaway neighbourhood with one compound, four gates and ``--residents`` residents; one building
is sealed and one household is under home quarantine, so some scans are refused (and recorded, as
at a real gate). ``--guards`` guards (one API token each, the same compound) scan at once, each on
its own keep-alive connection: ``POST /api/v1/gate-passages`` with a resident's sampling code,
``out`` then ``in``, a temperature (one in 200 a fever), an idempotency key; one scan in ten is
sent again with the same key (a scanner that did not hear the answer): it must be answered the same
and stored once. Each run measures the ceiling (``bench/_harness.py``: ``POST /bench/ceiling``, one
INSERT through the same middleware) over as many connections, in slices alternating with the scans
(``h.alternate``) so that both see the same load on a shared machine.

Prints, per run, passages/s against the ceiling's requests/s (the ratio is the figure; target
≥ 50 %), p50/p99 (target p99 < 100 ms at 16 guards), the server's and database's CPU per scan, and
the checks: every acknowledged passage stored, retries stored once and answered the same, refusals
only for the sealed building, the quarantined household and fevers. Deletes what it created unless
``--keep`` (audit events are append-only and stay). Never run by the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiayuan.settings")

import _harness as h  # noqa: E402
import screening as scan_bench  # noqa: E402  (bench/screening.py: residents generated in PostgreSQL)

PATH = "/api/v1/gate-passages"


def setup(residents: int, guards: int):
    """A neighbourhood with one compound, four gates, residents, a sealed building, a household
    under home quarantine and ``guards`` guards with API tokens."""
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from jiayuan.accounts.models import Assignment, User
    from jiayuan.accounts.services import api_token_create
    from jiayuan.control.models import Quarantine, ZoneOverride
    from jiayuan.core.permissions import Role
    from jiayuan.gates import services
    from jiayuan.people.models import Resident
    from jiayuan.places import services as places
    from jiayuan.places.models import Building, Household, Street

    street = Street.objects.filter(code="BENCH-ST").first() or places.street_create(
        actor=None, code="BENCH-ST", name="基准街道"
    )
    nb = places.neighbourhood_create(actor=None, street=street, code=f"BENCH-GATE-{os.getpid()}", name="门岗基准")
    compound = places.compound_create(actor=None, neighbourhood=nb, name="门岗小区")
    with connection.cursor() as cur:
        scan_bench._generate(cur, nb.pk, compound.pk, residents)
    gates = [services.gate_create(actor=None, compound=compound, name=f"{n}号门") for n in range(1, 5)]
    sealed = Building.objects.filter(neighbourhood=nb).order_by("pk").first()
    ZoneOverride.objects.create(
        neighbourhood=nb,
        building=sealed,
        level="sealed",
        reason="bench",
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    quarantined = Household.objects.filter(neighbourhood=nb).exclude(building=sealed).order_by("pk").first()
    today = timezone.localdate()
    Quarantine.objects.create(
        neighbourhood=nb,
        building_id=quarantined.building_id,
        household=quarantined,
        kind="home",
        reason="close_contact",
        start_on=today,
        days=7,
        planned_end=today + dt.timedelta(days=7),
    )
    tokens = []
    for n in range(guards):
        user = User.objects.create_user(username=f"bench-guard-{os.getpid()}-{n}", password=None)
        Assignment.objects.create(user=user, role=Role.GATE_GUARD, level="compound", compound=compound)
        tokens.append(api_token_create(actor=None, user=user)[1])
    people = list(
        Resident.objects.filter(neighbourhood=nb, presence="present").values_list(
            "id", "household_id", "household__building_id"
        )
    )
    return nb, gates, tokens, people, sealed.pk, quarantined.pk


def jobs_for(gates, tokens, people, scans: int, seed: int, sealed: int, quarantined: int):
    """Per guard: scans of random residents at one gate (out, then in), a temperature, a key; one
    in ten sent twice. Also what each scan should answer."""
    from jiayuan.screening.codes import sampling_code

    rng = random.Random(seed)
    jobs, expected, retries = [], {}, 0
    per_guard = scans // len(tokens)
    for g, token in enumerate(tokens):
        headers = {"Authorization": f"Bearer {token}"}
        gate = gates[g % len(gates)].pk
        job = []
        for seq in range(per_guard):
            rid, hid, bid = people[rng.randrange(len(people))]
            fever = rng.random() < 0.005
            direction = "out" if seq % 2 == 0 else "in"
            body = {
                "gate": gate,
                "direction": direction,
                "resident_code": sampling_code(rid),
                "temperature": 37.9 if fever else round(36.2 + rng.random() * 0.8, 1),
                "idempotency_key": f"bench-{seed}-{g}-{seq}",
            }
            if fever:
                reason = "fever"
            elif direction == "out" and bid == sealed:
                reason = "sealed"
            elif direction == "out" and hid == quarantined:
                reason = "quarantine"
            else:
                reason = None
            payload = json.dumps(body).encode()
            expected[payload] = reason
            job.append((PATH, payload, headers))
            if rng.random() < 0.1:
                job.append((PATH, payload, {**headers, "X-Bench-Retry": "1"}))
                retries += 1
        jobs.append(job)
    return jobs, expected, retries


def check(res, expected: dict, nb_id: int) -> dict:
    from jiayuan.gates.models import GatePassage

    answers: dict[bytes, set[bytes]] = {}
    wrong = 0
    for _lat, status, data, body in res.results:
        answers.setdefault(body, set()).add(data)
        if status == 201 and json.loads(data)["reason"] != expected[body]:
            wrong += 1
    ids = {json.loads(d)["id"] for _l, s, d, _b in res.results if s == 201}
    stored = GatePassage.objects.filter(neighbourhood_id=nb_id).count()
    reasons = Counter(GatePassage.objects.filter(neighbourhood_id=nb_id).values_list("reason", flat=True))
    return {
        "acknowledged": len(ids),
        "stored": stored,
        "retries answered differently": sum(1 for seen in answers.values() if len(seen) > 1),
        "wrong decisions": wrong,
        "refused": {k: v for k, v in reasons.items() if k},
    }


def cleanup(nb) -> None:
    from jiayuan.accounts.models import ApiToken, Assignment
    from jiayuan.control.models import Quarantine, ZoneOverride
    from jiayuan.gates.models import Gate, GatePassage, GateStateChange

    GatePassage.objects.filter(neighbourhood=nb).delete()
    GateStateChange.objects.filter(neighbourhood=nb).delete()
    Gate.objects.filter(neighbourhood=nb).delete()
    Quarantine.objects.filter(neighbourhood=nb).delete()
    ZoneOverride.objects.filter(neighbourhood=nb).delete()
    users = list(Assignment.objects.filter(neighbourhood=nb).values_list("user_id", flat=True))
    users += list(Assignment.objects.filter(compound__neighbourhood=nb).values_list("user_id", flat=True))
    ApiToken.objects.filter(user_id__in=users).delete()
    Assignment.objects.filter(compound__neighbourhood=nb).delete()
    from django.contrib.auth import get_user_model

    # Audit events point at the users: deactivate, do not delete.
    get_user_model().objects.filter(pk__in=users).update(is_active=False)
    from django.db import connection

    with connection.cursor() as cur:
        scan_bench._cleanup(cur, [nb.pk])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guards", type=int, default=16)
    parser.add_argument("--scans", type=int, default=4000, help="scans per run (retries come on top)")
    parser.add_argument("--residents", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="granian worker processes")
    parser.add_argument("--server-threads", type=int, default=4, help="granian blocking threads per worker")
    parser.add_argument("--clients", type=int, default=2, help="client processes (the guards' threads spread)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("bench/gates.py needs PostgreSQL (DATABASE_URL=postgres://…)")
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    nb, gates, tokens, people, sealed, quarantined = setup(args.residents, args.guards)
    connection.close()
    figures: list[h.Figure] = []
    failed = False
    server = h.Server(args.workers, args.server_threads)
    print(
        f"gate passages: {args.guards} guards at once at {len(gates)} gates ({args.clients} client processes); "
        f"granian {args.workers} workers × {args.server_threads} threads; {os.cpu_count()} cores; "
        f"{len(people):,} residents"
    )
    try:
        for run in range(1, args.repeat + 1):
            from jiayuan.gates.models import GatePassage

            GatePassage.objects.filter(neighbourhood=nb).delete()
            connection.close()
            jobs, expected, retries = jobs_for(gates, tokens, people, args.scans, run, sealed, quarantined)
            # The ceiling and the scans in alternating slices: both see the same load (bench/_harness.py).
            top, res = h.alternate(server, jobs, clients=args.clients)
            print(f"  run {run} ceiling: {top.rate():,.0f} req/s; p50 {top.p(50) * 1000:.1f} ms ({top.load})")
            print(f"    ceiling's {top.cpu_line(len(top.results))}")
            report = check(res, expected, nb.pk)
            connection.close()
            fig = h.Figure("gate passage", res.rate(report["acknowledged"]), top.rate(), res.p(50), res.p(99), res.load)
            figures.append(fig)
            other = len(res.results) - res.count(201)
            print(f"  run {run} {h.ratio_line(fig, 0.5)}")
            print(
                f"    {len(res.results):,} requests in {res.elapsed:.2f}s ({res.rate():,.0f} req/s), "
                f"{retries} idempotent retries, {other} answers other than 201"
            )
            print(f"    {res.cpu_line(len(res.results), 'scan')}")
            print("    check: " + ", ".join(f"{k} {v}" for k, v in report.items()))
            ok = (
                report["acknowledged"] == report["stored"]
                and report["retries answered differently"] == 0
                and report["wrong decisions"] == 0
                and other == 0
            )
            failed = failed or not ok
            print(
                f"    stored once, decisions right — {'OK' if ok else 'CHECK FAILED'}; p99 < 100 ms — "
                f"{'OK' if fig.p99 < 0.1 else 'ABOVE TARGET'}"
            )
    finally:
        server.stop()
        h.drop_ceiling_table()
        if not args.keep:
            cleanup(nb)
            print("deleted the bench neighbourhood")
    print(h.summary(f"gate passages, {args.guards} guards at once", figures, 0.5))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
