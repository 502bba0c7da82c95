"""Zone engine benchmark: recompute every zone level for a city's worth of buildings.

    createdb -h 127.0.0.1 -U postgres jiayuan_bench_control
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jiayuan_bench_control .venv/bin/jiayuan migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jiayuan_bench_control .venv/bin/python bench/zones.py \
        [--buildings 300000] [--cases 25000] [--repeat 3]

Builds (with ``generate_series`` SQL, in a few seconds) one street of 1,000 neighbourhoods,
10 compounds each and ``--buildings`` buildings, one household and resident per case, and
``--cases`` positive cases spread over the last 20 days (10% of the neighbourhoods use the
compound as zone unit). Then times:

1. the first full recompute (every sealed/controlled status written, with its history),
2. a recompute with nothing changed,
3. the next day's recompute (buildings stepping down),
4. ``zone_levels`` for 1,000 buildings (the contract screening and supplies call).

The target is a full recompute under 5 s on PostgreSQL. Refuses any database whose name does not
contain ``bench``: it empties the places, people and control tables first. Never run by pytest.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiayuan.settings")

NEIGHBOURHOODS = 1000
COMPOUNDS_PER_NB = 10


def build(cursor, buildings: int, cases: int, today: dt.date) -> None:
    per_compound = max(1, buildings // (NEIGHBOURHOODS * COMPOUNDS_PER_NB))
    cursor.execute(
        "TRUNCATE control_zonechange, control_zonestatus, control_zoneoverride, control_zonesettings, "
        "control_healthcheck, control_quarantinetest, control_returnee, control_quarantine, control_contact, "
        "control_caseevent, control_case, people_residenttag, people_resident, places_household, places_building, "
        "places_compound, places_neighbourhood, places_street RESTART IDENTITY CASCADE"
    )
    cursor.execute("INSERT INTO places_street (id, code, name) VALUES (1, 'BENCH', '基准街道')")
    cursor.execute(
        "INSERT INTO places_neighbourhood (id, code, name, is_demo, street_id) "
        "SELECT n, 'B' || n, '居民区' || n, false, 1 FROM generate_series(1, %s) n",
        [NEIGHBOURHOODS],
    )
    cursor.execute(
        "INSERT INTO places_compound (id, name, neighbourhood_id) "
        "SELECT c, '小区' || c, (c - 1) / %s + 1 FROM generate_series(1, %s) c",
        [COMPOUNDS_PER_NB, NEIGHBOURHOODS * COMPOUNDS_PER_NB],
    )
    cursor.execute(
        "INSERT INTO places_building (id, number, name, units, floors, sort_key, compound_id, neighbourhood_id) "
        "SELECT b, ((b - 1) %% %s + 1)::text, ((b - 1) %% %s + 1) || '号楼', 2, 6, (b - 1) %% %s + 1, "
        "(b - 1) / %s + 1, ((b - 1) / %s) / %s + 1 FROM generate_series(1, %s) b",
        [per_compound, per_compound, per_compound, per_compound, per_compound, COMPOUNDS_PER_NB, buildings],
    )
    # One household and one resident per case, in a building picked pseudo-randomly.
    cursor.execute(
        "INSERT INTO places_household (id, unit, room, floor, notes, building_id, neighbourhood_id) "
        "SELECT h, '', (100 + h)::text, 1, '', b.id, b.neighbourhood_id FROM generate_series(1, %s) h "
        "JOIN places_building b ON b.id = ((h::bigint * 7919) %% %s) + 1",
        [cases, buildings],
    )
    cursor.execute(
        "INSERT INTO people_resident (id, name, gender, id_type, id_number, id_number_hash, phone, phone_hash, "
        "phone_last4, relation_to_head, residency, presence, notes, created_at, updated_at, household_id, "
        "neighbourhood_id) SELECT h.id, '居民' || h.id, 'U', 'mainland', '', '', '', '', '', 'head', 'owner', "
        "'present', '', now(), now(), h.id, h.neighbourhood_id FROM places_household h"
    )
    cursor.execute(
        "INSERT INTO control_case (detected_on, source, type, status, status_on, ref, notes, created_at, updated_at, "
        "building_id, compound_id, household_id, neighbourhood_id, resident_id) "
        "SELECT %s::date - (h.id %% 20)::int, 'pcr_round', 'asymptomatic', 'at_home', %s::date - (h.id %% 20)::int, "
        "'bench', '', now(), now(), b.id, b.compound_id, h.id, h.neighbourhood_id, h.id "
        "FROM places_household h JOIN places_building b ON b.id = h.building_id",
        [today, today],
    )
    cursor.execute(
        "INSERT INTO control_zonesettings (neighbourhood_id, unit, sealed_days, controlled_days, preset, updated_at) "
        "SELECT n, CASE WHEN n %% 10 = 0 THEN 'compound' ELSE 'building' END, 7, 14, '', now() "
        "FROM generate_series(1, %s) n",
        [NEIGHBOURHOODS],
    )
    cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--buildings", type=int, default=300_000)
    parser.add_argument("--cases", type=int, default=25_000)
    parser.add_argument("--repeat", type=int, default=3, help="full recomputes to time (best and median printed)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection, transaction
    from django.db.models import Count
    from django.utils import timezone

    from jiayuan.control.models import ZoneChange, ZoneStatus
    from jiayuan.control.selectors import zone_levels
    from jiayuan.control.zones import zone_recompute

    name = connection.settings_dict["NAME"]
    if "bench" not in str(name):
        sys.exit(f"refusing to run on database {name!r}: use a database whose name contains 'bench'")
    today = timezone.localdate()

    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        build(cursor, args.buildings, args.cases, today)
    built = time.perf_counter() - t0
    print(f"{connection.vendor}: built {args.buildings:,} buildings, {args.cases:,} cases in {built:.1f} s")

    def timed(label, fn):
        t = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - t
        print(f"{label}: {elapsed:.2f} s", end="")
        return result, elapsed

    # The full recompute from nothing, --repeat times (statuses and history emptied in between):
    # this machine is shared, so the best and the median are both printed.
    runs = []
    for i in range(args.repeat):
        if i:
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE control_zonestatus, control_zonechange")
        result, elapsed = timed(
            f"full recompute (from nothing) #{i + 1}", lambda: zone_recompute(actor="bench", today=today)
        )
        print(f"  — {len(result.building_ids):,} buildings, {len(result.compound_ids):,} compounds changed")
        runs.append(elapsed)
    first = min(runs)
    levels = dict(ZoneStatus.objects.values_list("level").annotate(n=Count("id")).order_by())
    print(f"   stored statuses by level: {levels}; history rows: {ZoneChange.objects.count():,}")
    result, _ = timed("recompute, nothing changed", lambda: zone_recompute(actor="bench", today=today))
    print(f"  — {len(result.building_ids):,} changed")
    result, _ = timed("next day's recompute", lambda: zone_recompute(actor="bench", today=today + dt.timedelta(days=1)))
    print(f"  — {len(result.building_ids):,} buildings, {len(result.compound_ids):,} compounds changed")
    ids = list(range(1, args.buildings + 1, max(1, args.buildings // 1000)))[:1000]
    _, _ = timed("zone_levels(1,000 buildings)", lambda: zone_levels(building_ids=ids))
    print()
    median = sorted(runs)[len(runs) // 2]
    print(
        f"target: full recompute < 5 s — {'OK' if first < 5 else 'MISSED'} (best {first:.2f} s, median {median:.2f} s)"
    )


if __name__ == "__main__":
    main()
