"""Antigen self-report benchmark: residents report through their household link, against the ceiling.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jiayuan_bench_antigen \\
        .venv/bin/python bench/antigen.py [--reports 2000] [--repeat 3] [--clients 2] [--threads 4]
        [--workers N] [--server-threads 2] [--keep]

Create and migrate the database first (``createdb``; ``DATABASE_URL=... .venv/bin/jiayuan migrate``).
PostgreSQL only (households and residents are generated with ``generate_series``, as in
``bench/screening.py``).

A throwaway neighbourhood with ``--reports × --repeat`` residents (three to a household) and a
household link for each household. ``granian`` serves the app (``bench/_harness.py``); each run
measures the ceiling (``POST /bench/ceiling``, same server, same connections) in slices alternating
with the reports, and posts
the reports as a household's phone does: the form of the household page
(``POST /h/<token>/screening/antigen/``, ``resident`` and ``result``, with the CSRF cookie and
header a browser sends; answered with a redirect back to the household page), one report per
resident, each connection its own households. The figure is reports/s divided by the ceiling's
requests/s (target ≥ 50 %), printed with the load average; then the best and the median over the
runs. Checks in the database that every report was stored once, with its audit event. Deletes
what it created unless ``--keep`` (audit events are append-only and stay). Never run by the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiayuan.settings")

import _harness as h  # noqa: E402
import screening as scan_bench  # noqa: E402  (bench/screening.py: data generation and clean-up)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=2000, help="reports per run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--threads", type=int, default=4, help="client threads (connections) per client process")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="granian worker processes")
    parser.add_argument("--server-threads", type=int, default=2, help="granian blocking threads per worker")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from jiayuan.accounts.models import HouseholdLink
    from jiayuan.accounts.services import household_link_token
    from jiayuan.core.models import AuditEvent
    from jiayuan.places.models import Compound, Neighbourhood, Street
    from jiayuan.screening.models import AntigenReport

    if connection.vendor != "postgresql":
        sys.exit("bench/antigen.py needs PostgreSQL (DATABASE_URL=postgres://...)")
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    street, _ = Street.objects.get_or_create(code="BENCH", defaults={"name": "基准街道"})
    nb = Neighbourhood.objects.create(street=street, code=f"BENCH-AG-{os.getpid()}", name="抗原基准")
    compound = Compound.objects.create(neighbourhood=nb, name="基准小区")
    server = None
    figures: list[h.Figure] = []
    failed = False
    try:
        residents = args.reports * args.repeat
        t0 = time.perf_counter()
        with connection.cursor() as cur:
            scan_bench._generate(cur, nb.pk, compound.pk, residents + 3)
            cur.execute("VACUUM ANALYZE people_resident")
        homes = list(nb.households.order_by("id").values_list("id", flat=True))
        # Links written in one go (household_link_issue audits each: not what is measured here).
        HouseholdLink.objects.bulk_create(
            [HouseholdLink(household_id=hh, neighbourhood_id=nb.pk, nonce=secrets.token_urlsafe(16)) for hh in homes]
        )
        token_of = {
            link.household_id: household_link_token(link) for link in HouseholdLink.objects.filter(neighbourhood=nb)
        }
        people = list(nb.residents.order_by("household_id", "id").values_list("id", "household_id"))
        print(f"{len(people):,} residents in {len(homes):,} households generated in {time.perf_counter() - t0:.1f}s")
        connection.close()  # the client processes are forked: they must not share this connection

        server = h.Server(args.workers, args.server_threads)
        conns = args.clients * args.threads
        print(
            f"antigen reports: {args.clients} client processes × {args.threads} connections; granian "
            f"{args.workers} workers × {args.server_threads} threads; {os.cpu_count()} cores"
        )
        csrf = secrets.token_hex(16)  # 32 characters: Django takes the unmasked secret as the token
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf}",
            "X-CSRFToken": csrf,
        }
        for run in range(1, args.repeat + 1):
            mine = people[(run - 1) * args.reports : run * args.reports]
            jobs: list[list[tuple]] = [[] for _ in range(conns)]
            for resident_id, household_id in mine:
                # A household's residents on one connection (one phone), households spread.
                body = urlencode({"resident": resident_id, "result": "negative"}).encode()
                jobs[household_id % conns].append((f"/h/{token_of[household_id]}/screening/antigen/", body))
            # The ceiling and the reports in alternating slices: same server, connections and load.
            top, res = h.alternate(server, jobs, args.clients, headers=headers)
            print(f"  run {run} ceiling: {top.rate():,.0f} req/s; p50 {top.p(50) * 1000:.1f} ms ({top.load})")
            ok = res.count(302)
            fig = h.Figure("antigen self-report", res.rate(ok), top.rate(), res.p(50), res.p(99), res.load)
            figures.append(fig)
            print(f"  run {run} {h.ratio_line(fig, 0.5)}")
            print(f"    {ok:,}/{len(mine):,} answered in {res.elapsed:.2f}s; {res.cpu_line(ok, 'report')}")
            ids = [r for r, _hh in mine]
            stored = AntigenReport.objects.filter(resident_id__in=ids, date=dt.date.today()).count()  # noqa: DTZ011
            audited = AuditEvent.objects.filter(
                action="screening.antigen_report", object_type="screening.antigenreport", neighbourhood_id=nb.pk
            ).count()
            connection.close()
            print(f"    check: reports stored {stored:,} of {len(mine):,}; audit events so far {audited:,}")
            if ok != len(mine) or stored != len(mine):
                failed = True
                print("    statuses:", sorted({r[1] for r in res.results}), "— CHECK FAILED")
    finally:
        if server is not None:
            server.stop()
        h.drop_ceiling_table()
        if not args.keep:
            with connection.cursor() as cur:
                cur.execute("DELETE FROM screening_antigenreport WHERE neighbourhood_id = %s", [nb.pk])
                cur.execute("DELETE FROM accounts_householdlink WHERE neighbourhood_id = %s", [nb.pk])
                scan_bench._cleanup(cur, [nb.pk])
            print(f"deleted {nb.code}")
    print(h.summary("antigen self-reports", figures, 0.5))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
