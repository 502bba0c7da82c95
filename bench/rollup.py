"""Roll-up bench: the street officer's roll-up over 300 neighbourhoods of 3,600 residents (issue #14).

    createdb -h 127.0.0.1 -U postgres jiayuan_rollup
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jiayuan_rollup .venv/bin/jiayuan migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jiayuan_rollup .venv/bin/python bench/rollup.py \\
        [--neighbourhoods 300] [--residents-each 3600] [--repeat 5]

Use a database of its own (a second run reuses the data; ``dropdb`` removes it). PostgreSQL only.

1. The places and residents, generated inside PostgreSQL as ``bench/district.py`` does (streets of
   40 neighbourhoods, 25 buildings each, households of three), under the tag ``ROLL``.
2. Today's activity in every neighbourhood, also in SQL: a round with 60 % of the residents
   sampled, 30 % antigen reports, one case per 1,000 residents and its building sealed (a zone
   status row, as the zone engine writes it).
3. The roll-up as the page and ``GET /api/v1/rollup`` compute it (``bulletin.dashboards.rollup``:
   every registered column for all neighbourhoods at once), timed for a street officer of the
   first street (40 neighbourhoods) and for a district officer of every street (all of them), best
   and median of ``--repeat`` runs, with the number of queries. Target: every neighbourhood (300)
   in one roll-up under 1 s, printed on its own line beside the street of 40.

Never run by the test suite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiayuan.settings")

import django  # noqa: E402

django.setup()

import district  # noqa: E402

district.TAG = "ROLL"  # its own streets and neighbourhoods: ROLL-S001, ROLL-N0001


def activity(today) -> None:
    """A round, samples, antigen reports, cases and sealed buildings for today, in SQL."""
    from django.db import connection, transaction

    t0 = time.perf_counter()
    like = f"{district.TAG}-N%"
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM screening_round r JOIN places_neighbourhood n ON n.id = r.neighbourhood_id "
            "WHERE n.code LIKE %s AND r.date = %s",
            [like, today],
        )
        if cur.fetchone()[0]:
            return
        cur.execute(
            """INSERT INTO screening_round (kind, date, start_time, end_time, pool_size, slot_minutes,
                   whole_neighbourhood, status, notes, created_at, neighbourhood_id)
               SELECT 'pcr', %s, '07:00', '11:00', 10, 20, true, 'open', '', now(), id
               FROM places_neighbourhood WHERE code LIKE %s""",
            [today, like],
        )
        cur.execute(
            """INSERT INTO screening_tube (barcode, pool_size, fill_count, status, is_retest, result, opened_at,
                   neighbourhood_id, round_id)
               SELECT 'ROLL' || r.id, 10, 10, 'closed', false, 'pending', now(), r.neighbourhood_id, r.id
               FROM screening_round r JOIN places_neighbourhood n ON n.id = r.neighbourhood_id
               WHERE n.code LIKE %s AND r.date = %s""",
            [like, today],
        )
        cur.execute(
            """INSERT INTO screening_sample (kind, is_retest, person_name, person_contact, person_contact_hash,
                   sampled_at, building_id, neighbourhood_id, resident_id, round_id, tube_id, day)
               SELECT 'resident', false, '', '', '', now(), h.building_id, p.neighbourhood_id, p.id, t.round_id, t.id,
                      %s
               FROM people_resident p JOIN places_household h ON h.id = p.household_id
               JOIN screening_tube t ON t.neighbourhood_id = p.neighbourhood_id AND t.barcode LIKE 'ROLL%%'
               JOIN places_neighbourhood n ON n.id = p.neighbourhood_id
               WHERE n.code LIKE %s AND p.id %% 10 < 6""",
            [today, like],
        )
        cur.execute(
            """INSERT INTO screening_antigenreport (date, result, photo, channel, created_at, updated_at,
                   building_id, neighbourhood_id, resident_id)
               SELECT %s, 'negative', '', 'household', now(), now(), h.building_id, p.neighbourhood_id, p.id
               FROM people_resident p JOIN places_household h ON h.id = p.household_id
               JOIN places_neighbourhood n ON n.id = p.neighbourhood_id
               WHERE n.code LIKE %s AND p.id %% 10 >= 7""",
            [today, like],
        )
        cur.execute(
            """INSERT INTO control_case (detected_on, source, type, status, status_on, ref, notes, created_at,
                   updated_at, building_id, compound_id, household_id, neighbourhood_id, resident_id)
               SELECT %s, 'pcr_round', 'asymptomatic', 'at_home', %s, '', '', now(), now(), b.id, b.compound_id,
                      h.id, p.neighbourhood_id, p.id
               FROM people_resident p JOIN places_household h ON h.id = p.household_id
               JOIN places_building b ON b.id = h.building_id
               JOIN places_neighbourhood n ON n.id = p.neighbourhood_id
               WHERE n.code LIKE %s AND p.id %% 1000 = 0""",
            [today, today, like],
        )
        cur.execute(
            """INSERT INTO control_zonestatus (level, since, next_change_on, last_positive_on, computed_at,
                   building_id, neighbourhood_id)
               SELECT DISTINCT ON (c.building_id) 'sealed', %s, %s + 7, %s, now(), c.building_id, c.neighbourhood_id
               FROM control_case c JOIN places_neighbourhood n ON n.id = c.neighbourhood_id
               WHERE n.code LIKE %s AND c.detected_on = %s
               ON CONFLICT (building_id) DO NOTHING""",
            [today, today, today, like, today],
        )
        for table in ("screening_sample", "screening_antigenreport", "control_case", "control_zonestatus"):
            cur.execute(f"ANALYZE {table}")
    print(f"today's activity generated in {time.perf_counter() - t0:.0f}s")


def officer(username: str, streets):
    from jiayuan.accounts.models import Assignment, User

    user, _ = User.objects.get_or_create(username=username)
    for street in streets:
        Assignment.objects.get_or_create(user=user, role="street_officer", level="street", street=street)
    return User.objects.get(pk=user.pk)  # a fresh object: no cached scope


def timed(username: str, streets, day, repeat: int) -> tuple[list[float], int, int, dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from jiayuan.bulletin.dashboards import rollup

    times, queries, rows = [], 0, []
    for _ in range(repeat):
        user = officer(username, streets)
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            rows = rollup(user=user, day=day)
            times.append(time.perf_counter() - t0)
        queries = len(ctx.captured_queries)
    totals = {key: sum(r.values[key] for r in rows) for key in rows[0].values} if rows else {}
    return times, queries, len(rows), totals


def main() -> None:
    from django.db import connection
    from django.utils import timezone

    from jiayuan.places.models import Street

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--neighbourhoods", type=int, default=300)
    parser.add_argument("--residents-each", type=int, default=3600)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("PostgreSQL only: set DATABASE_URL")
    nbs, residents = district.district_size()
    if not nbs:
        district.generate(args.neighbourhoods, args.neighbourhoods * args.residents_each)
        nbs, residents = district.district_size()
    today = timezone.localdate()
    activity(today)
    streets = list(Street.objects.filter(code__startswith=f"{district.TAG}-S").order_by("code"))
    print(f"{nbs} neighbourhoods, {residents:,} residents, {len(streets)} streets")
    best = {}
    for label, username, scope in (
        ("street roll-up (one street)", "bench-street", streets[:1]),
        ("district roll-up (every street)", "bench-district", streets),
    ):
        times, queries, n, totals = timed(username, scope, today, args.repeat)
        best[username] = (n, min(times), statistics.median(times))
        print(
            f"{label}: {n} neighbourhoods, best {min(times) * 1000:.0f} ms, median "
            f"{statistics.median(times) * 1000:.0f} ms, {queries} queries; totals {totals}"
        )
    for label, username in (("street", "bench-street"), ("all", "bench-district")):
        n, low, mid = best[username]
        print(
            f"{n} neighbourhoods in one roll-up ({label}): best {low * 1000:.0f} ms, median {mid * 1000:.0f} ms "
            f"of {args.repeat}; under 1 s: {'yes' if low < 1 else 'NO'}"
        )


if __name__ == "__main__":
    main()
