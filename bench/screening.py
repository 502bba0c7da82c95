"""Screening benchmark: sample scans through the real HTTP API, and the missed list at 1 M residents.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jiayuan_bench_screening \\
        .venv/bin/python bench/screening.py [--residents 1000000] [--scans 4000] [--batches 400]
        [--batch-size 50] [--repeat 3] [--clients 2] [--threads 4] [--workers N] [--server-threads 2]
        [--keep]

Create and migrate the database first (``createdb``; ``DATABASE_URL=... .venv/bin/jiayuan migrate``).
PostgreSQL only: the data is generated in the database with ``generate_series``.

1. Scans. A throwaway neighbourhood, a sampler with an API token; ``granian`` (WSGI,
   ``--workers`` processes — default: one per core — with ``--server-threads`` blocking threads
   each, persistent DB connections) serves the app on a free port. The client is light: ``--clients``
   processes × ``--threads`` threads, each thread one keep-alive ``http.client`` connection, so it
   does not take the GIL (and CPU) from the server more than it must. Each run opens a new 10-in-1
   round and posts single scans (``POST /api/v1/rounds/{id}/samples``, each thread its own tubes, as
   samplers at different tables), then batches (``POST .../samples/batch``). ``--repeat`` runs;
   each run measures the ceiling (``POST /bench/ceiling``, one INSERT: ``bench/_harness.py``) in slices
   with the same server and connections, and each figure is printed as a ratio to it with the
   machine's 1-minute load average (other work on the machine shares the 2 cores), then the best
   and the median ratio. Targets: single scans ≥ 50 % of the ceiling, batched scans ≥ 3× the
   ceiling's requests/s.
2. Missed list. A second neighbourhood of ``--residents`` residents (5 % away, ~90 % of the
   others swabbed into 10-in-1 tubes): the time of the missed-list page as the page and API
   build it (count + first 50, through the user's scope), the same through HTTP, and the
   per-building statistics. Target: < 1 s for 1,000,000 residents.

Everything created is deleted afterwards unless ``--keep`` (audit events are append-only and stay,
so the bench users are deactivated, not deleted). Never run by the test suite.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiayuan.settings")

import _harness as h  # noqa: E402

# bench/faults.py reuses these names.
Server = h.Server
_children = h.children
_pct = h.pct
_load = h.load


def _generate(cursor, nb_id: int, compound_id: int, residents: int, per_building: int = 500) -> None:
    """Buildings, households (3 residents each) and residents, generated inside PostgreSQL."""
    buildings = max(1, residents // per_building)
    households = max(1, residents // 3)
    cursor.execute(
        """INSERT INTO places_building (number, name, units, floors, sort_key, compound_id, neighbourhood_id)
           SELECT g::text, g || '号楼', 1, NULL, g, %s, %s FROM generate_series(1, %s) g""",
        [compound_id, nb_id, buildings],
    )
    # Joins on the generated numbers (hash joins), not array subscripts: those are O(n) per row.
    cursor.execute(
        """INSERT INTO places_household (unit, room, floor, notes, building_id, neighbourhood_id)
           SELECT '', g::text, NULL, '', b.id, %s
           FROM generate_series(1, %s) g
           JOIN places_building b ON b.neighbourhood_id = %s AND b.number = (1 + g %% %s)::text""",
        [nb_id, households, nb_id, buildings],
    )
    cursor.execute(
        """INSERT INTO people_resident (name, gender, id_type, id_number, id_number_hash, phone, phone_hash,
               phone_last4, relation_to_head, residency, presence, notes, created_at, updated_at,
               household_id, neighbourhood_id)
           SELECT '居民' || g, 'U', 'mainland', '', '', '', '', '', 'other', 'owner',
                  CASE WHEN g %% 20 = 0 THEN 'away' ELSE 'present' END, '', now(), now(),
                  h.id, %s
           FROM generate_series(1, %s) g
           JOIN places_household h ON h.neighbourhood_id = %s AND h.room = (1 + g %% %s)::text""",
        [nb_id, residents, nb_id, households],
    )


def _cleanup(cursor, nb_ids: list[int]) -> None:
    for nb in nb_ids:
        for sql in (
            "DELETE FROM screening_retest WHERE neighbourhood_id = %s",
            "DELETE FROM screening_sample WHERE neighbourhood_id = %s",
            "DELETE FROM screening_tube WHERE neighbourhood_id = %s",
            "DELETE FROM screening_planslot WHERE neighbourhood_id = %s",
            "DELETE FROM screening_station WHERE neighbourhood_id = %s",
            "DELETE FROM screening_exemption WHERE neighbourhood_id = %s",
            "DELETE FROM screening_round_buildings WHERE round_id IN "
            "(SELECT id FROM screening_round WHERE neighbourhood_id = %s)",
            "DELETE FROM screening_round WHERE neighbourhood_id = %s",
            "DELETE FROM people_residenttag WHERE resident_id IN "
            "(SELECT id FROM people_resident WHERE neighbourhood_id = %s)",
            "DELETE FROM people_resident WHERE neighbourhood_id = %s",
            "DELETE FROM places_household WHERE neighbourhood_id = %s",
            "DELETE FROM accounts_assignment WHERE neighbourhood_id = %s",
            "DELETE FROM places_building WHERE neighbourhood_id = %s",
            "DELETE FROM places_compound WHERE neighbourhood_id = %s",
            "DELETE FROM places_neighbourhood WHERE id = %s",
        ):
            cursor.execute(sql, [nb])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=1_000_000, help="0: scans only")
    parser.add_argument("--scans", type=int, default=4000, help="single scans")
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the scan benchmarks")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--threads", type=int, default=4, help="client threads (connections) per client process")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="granian worker processes")
    parser.add_argument("--server-threads", type=int, default=2, help="granian blocking threads per worker")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--cleanup", action="store_true", help="only remove what earlier --keep runs left")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.paginator import Paginator
    from django.db import connection

    from jiayuan.accounts.models import Assignment, User
    from jiayuan.accounts.services import api_token_create
    from jiayuan.core.permissions import Role
    from jiayuan.places.models import Compound, Neighbourhood, Street
    from jiayuan.screening import selectors, services
    from jiayuan.screening.codes import sampling_code

    if connection.vendor != "postgresql":
        sys.exit("bench/screening.py needs PostgreSQL (DATABASE_URL=postgres://...)")
    pid = os.getpid()
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    if args.cleanup:
        left = list(Neighbourhood.objects.filter(code__startswith="BENCH-").values_list("pk", flat=True))
        with connection.cursor() as cur:
            _cleanup(cur, left)
        User.objects.filter(username__startswith="bench-").update(is_active=False)
        print(f"removed {len(left)} bench neighbourhoods")
        return
    street, _ = Street.objects.get_or_create(code="BENCH", defaults={"name": "基准街道"})
    nb_ids: list[int] = []
    users: list[User] = []
    server = None
    try:
        # --- 1. Scans through HTTP -----------------------------------------------------------------
        per_run = args.scans + args.batches * args.batch_size
        scan_residents = max(30_000, per_run + 1000)
        nb = Neighbourhood.objects.create(street=street, code=f"BENCH-SCAN-{pid}", name="扫码基准")
        nb_ids.append(nb.pk)
        compound = Compound.objects.create(neighbourhood=nb, name="基准小区")
        t0 = time.perf_counter()
        with connection.cursor() as cur:
            _generate(cur, nb.pk, compound.pk, scan_residents)
            cur.execute("VACUUM ANALYZE people_resident")
        print(f"scan neighbourhood: {scan_residents:,} residents generated in {time.perf_counter() - t0:.1f}s")
        sampler = User.objects.create_user(username=f"bench-sampler-{pid}", password=None)
        users.append(sampler)
        Assignment.objects.create(user=sampler, role=Role.SAMPLER, level="neighbourhood", neighbourhood=nb)
        _t, token = api_token_create(actor=None, user=sampler)
        import datetime as dt

        ids = list(nb.residents.filter(presence="present").order_by("id").values_list("id", flat=True)[:per_run])
        codes = [sampling_code(i) for i in ids]
        connection.close()  # the client processes are forked: they must not share this connection
        server = Server(args.workers, threads=args.server_threads)
        setup = (
            f"{args.clients} client processes × {args.threads} connections; "
            f"granian {args.workers} workers × {args.server_threads} threads; {os.cpu_count()} cores"
        )
        print(f"scans: {setup}")
        single_runs: list[h.Figure] = []
        batch_runs: list[h.Figure] = []
        conns = args.clients * args.threads
        auth = {"Authorization": f"Bearer {token}"}
        for run in range(1, args.repeat + 1):
            round_ = services.round_create(actor=None, neighbourhood=nb, date=dt.date.today(), pool_size=10)  # noqa: DTZ011
            connection.close()
            path = f"/api/v1/rounds/{round_.pk}/samples"
            jobs: list[list[tuple]] = [[] for _ in range(conns)]
            for n, code in enumerate(codes[: args.scans]):
                t = n % conns
                jobs[t].append(
                    (
                        path,
                        {"tube": f"S{t}-{len(jobs[t]) // 10:05d}", "resident_code": code, "idempotency_key": f"s-{n}"},
                    )
                )
            # The ceiling and the scans in alternating slices: same server, connections and load.
            top, res = h.alternate(server, jobs, args.clients, headers=auth)
            print(f"  run {run} ceiling: {top.rate():,.0f} req/s; p50 {top.p(50) * 1000:.1f} ms ({top.load})")
            print(f"    {top.cpu_line(len(top.results), 'INSERT')}")
            ok = res.count(201)
            fig = h.Figure("single scan", res.rate(ok), top.rate(), res.p(50), res.p(99), res.load)
            single_runs.append(fig)
            print(f"  run {run} {h.ratio_line(fig, 0.5)}")
            print(f"    {ok:,}/{args.scans:,} stored in {res.elapsed:.2f}s; {res.cpu_line(ok, 'scan')}")
            if ok != args.scans:
                print("    statuses:", sorted({r[1] for r in res.results}))

            batch_codes = codes[args.scans : per_run]
            jobs = [[] for _ in range(conns)]
            for b in range(args.batches):
                chunk = batch_codes[b * args.batch_size : (b + 1) * args.batch_size]
                items = [
                    {"tube": f"B{b:05d}-{k // 10:02d}", "resident_code": c, "idempotency_key": f"b-{b}-{k}"}
                    for k, c in enumerate(chunk)
                ]
                jobs[b % conns].append((f"{path}/batch", {"items": items}))
            top, res = h.alternate(server, jobs, args.clients, headers=auth, slices=2)
            accepted = sum(json.loads(r[2])["accepted"] for r in res.results if r[1] == 200)
            fig = h.Figure(
                f"batched scans ({args.batch_size} a request)",
                res.rate(accepted),
                top.rate(),
                res.p(50),
                res.p(99),
                res.load,
            )
            batch_runs.append(fig)
            print(f"  run {run} {h.ratio_line(fig, 3)}")
            print(
                f"    {accepted:,}/{len(batch_codes):,} stored in {res.elapsed:.2f}s; {res.cpu_line(accepted, 'scan')}"
            )
            tubes_over = round_.tubes.filter(fill_count__gt=10).count()
            samples = round_.samples.count()
            print(f"    check: samples stored {samples:,} of {per_run:,}, tubes over pool size: {tubes_over}")
            connection.close()
        print(h.summary("single scans", single_runs, 0.5))
        print(h.summary("batched scans", batch_runs, 3))

        # --- 2. Missed list at scale ---------------------------------------------------------------
        if args.residents <= 0:
            return
        big = Neighbourhood.objects.create(street=street, code=f"BENCH-MISSED-{pid}", name="漏测基准")
        nb_ids.append(big.pk)
        compound = Compound.objects.create(neighbourhood=big, name="基准小区")
        t0 = time.perf_counter()
        with connection.cursor() as cur:
            _generate(cur, big.pk, compound.pk, args.residents)
        print(f"missed-list neighbourhood: {args.residents:,} residents generated in {time.perf_counter() - t0:.1f}s")
        staff = User.objects.create_user(username=f"bench-staff-{pid}", password=None)
        users.append(staff)
        Assignment.objects.create(user=staff, role=Role.COMMITTEE_STAFF, level="neighbourhood", neighbourhood=big)
        _t, staff_token = api_token_create(actor=None, user=staff)
        big_round = services.round_create(actor=None, neighbourhood=big, date=dt.date.today(), pool_size=10)  # noqa: DTZ011
        t0 = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(
                """INSERT INTO screening_tube (round_id, neighbourhood_id, barcode, pool_size, fill_count, status,
                       is_retest, result, opened_at, closed_at)
                   SELECT %s, %s, 'M' || g, 10, 10, 'closed', false, 'pending', now(), now()
                   FROM generate_series(1, %s) g""",
                [big_round.pk, big.pk, args.residents // 10 + 1],
            )
            cur.execute(
                """INSERT INTO screening_sample (round_id, tube_id, neighbourhood_id, building_id, resident_id, kind,
                       is_retest, person_name, person_contact, person_contact_hash, sampled_at, day)
                   SELECT %s, t.id, %s, h.building_id, r.id, 'resident', false, '', '', '', now(), %s
                   FROM (SELECT id, household_id, row_number() OVER (ORDER BY id) rn FROM people_resident
                         WHERE neighbourhood_id = %s AND presence = 'present' AND id %% 10 <> 3) r
                   JOIN places_household h ON h.id = r.household_id
                   JOIN screening_tube t ON t.round_id = %s AND t.barcode = 'M' || (1 + (r.rn - 1) / 10)""",
                [big_round.pk, big.pk, big_round.date, big.pk, big_round.pk],
            )
        # As autovacuum leaves a table after a bulk load: statistics and visibility map up to date.
        with connection.cursor() as cur:
            for table in (
                "people_resident",
                "screening_sample",
                "screening_exemption",
                "places_household",
                "places_building",
            ):
                cur.execute(f"VACUUM ANALYZE {table}")
        print(f"  {big_round.samples.count():,} samples generated in {time.perf_counter() - t0:.1f}s")

        timings = []
        for _ in range(3):
            t0 = time.perf_counter()
            page = Paginator(selectors.missed_list(user=staff, round_=big_round), 50).page(1)
            rows = list(page.object_list)
            timings.append(time.perf_counter() - t0)
        print(
            f"missed list ({page.paginator.count:,} missed of {args.residents:,}): count + first page "
            f"best {min(timings) * 1000:.0f} ms, median {statistics.median(timings) * 1000:.0f} ms ({len(rows)} rows; "
            f"{_load()})"
        )
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        http_t = []
        for _ in range(3):
            t0 = time.perf_counter()
            conn.request(
                "GET",
                f"/api/v1/rounds/{big_round.pk}/missed?limit=50",
                headers={"Authorization": f"Bearer {staff_token}"},
            )
            resp = conn.getresponse()
            body = json.loads(resp.read())
            http_t.append(time.perf_counter() - t0)
        print(
            f"  through HTTP GET /missed?limit=50: best {min(http_t) * 1000:.0f} ms, "
            f"median {statistics.median(http_t) * 1000:.0f} ms "
            f"(status {resp.status}, count {body.get('count')}; {_load()})"
        )
        t0 = time.perf_counter()
        building_id = big.buildings.order_by("id").values_list("id", flat=True).first()
        b_page = Paginator(selectors.missed_list(user=staff, round_=big_round, building_id=building_id), 50).page(1)
        list(b_page.object_list)
        print(
            f"  one building's missed list: {(time.perf_counter() - t0) * 1000:.0f} ms "
            f"({b_page.paginator.count} missed)"
        )
        t0 = time.perf_counter()
        stats = selectors.round_stats(user=staff, round_=big_round)
        print(
            f"round statistics per building ({len(stats['buildings']):,} buildings): "
            f"{(time.perf_counter() - t0) * 1000:.0f} ms; expected {stats['total']['expected']:,}, "
            f"sampled {stats['total']['sampled']:,}, missed {stats['total']['missed']:,}"
        )
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            t0 = time.perf_counter()
            with connection.cursor() as cur:
                _cleanup(cur, nb_ids)
            for u in users:
                u.is_active = False
                u.save(update_fields=["is_active"])
            print(f"cleaned up in {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
