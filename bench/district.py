"""District bench: a whole district in PostgreSQL and its morning burst through the real app (issue #13).

    createdb -h 127.0.0.1 -U postgres jiayuan_district
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jiayuan_district .venv/bin/jiayuan migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jiayuan_district REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/district.py [--neighbourhoods 400] [--residents 1500000] [--active 40]
        [--workers 2] [--server-threads 2] [--pgbouncer] [--scale 1.0]

Use a database of its own: the district stays there (a second run reuses it, so only the first
pays for the generation) and is removed with ``dropdb``. PostgreSQL only.

1. The district, generated inside PostgreSQL with ``generate_series`` (as ``bench/screening.py``
   does): ``--neighbourhoods`` residents' committees in streets of 40, each with one compound,
   25 buildings and ``--residents / --neighbourhoods`` residents in households of three; then
   ``VACUUM ANALYZE``, as autovacuum would leave the tables.
2. The morning, in ``--active`` neighbourhoods (the burst touches these; the rest of the district
   is the data behind every index and scope): a 10-in-1 round each with 60 % of its residents
   already swabbed (so the missed list is a real one), a sampler with an API token, a committee
   staff member and a street officer signed in (sessions made as the sign-in view makes them),
   household links, an approved group-buy leader and an open group buy.
3. granian (WSGI, ``--workers`` × ``--server-threads``, persistent connections, as
   ``bench/_harness.py`` serves the app) on loopback; with ``--pgbouncer`` the app reaches
   PostgreSQL through a private PgBouncer in transaction mode (``scripts/pgbouncer.sh``,
   ``DATABASE_PGBOUNCER=1``). The kinds of request:

   - ``home``: the household link page a phone opens (``GET /h/<token>/``), before a report and
     again after it (the form redirects there);
   - ``antigen``: a resident's antigen result through the household link page
     (``POST /h/<token>/screening/antigen/``, the form a phone posts, with its CSRF cookie);
   - ``scan``: a sample scan (``POST /api/v1/rounds/{id}/samples``, the sampler's phone);
   - ``order``: a group-buy order with the household link token (``POST /api/v1/group-buys/{id}/orders``);
   - ``missed``: the missed-list page of a round (``GET /screening/{id}/missed/``, committee staff);
   - ``rollup``: the roll-up: ``GET /api/v1/rollup`` (the bulletin app's figures per
     neighbourhood) where the app serves it, else the street officer's 防疫汇总统计表 by
     neighbourhood (``GET /control/summary/``); the line says which.

   Each kind first runs alone, so that the CPU its requests cost can be measured: server CPU
   (granian's processes) and database CPU (the PostgreSQL backends serving the app), from /proc,
   per request. Then all kinds run at once (the burst): throughput and p50/p99 per kind, with the
   machine's load average (the 2 cores are shared with other work; the CPU per request is the
   figure that does not depend on it). ``--scale`` multiplies the request counts.

The figures feed ``docs/scale.md``. Never run by the test suite.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiayuan.settings")

import _harness as h  # noqa: E402

TAG = "DIST"  # codes of the generated streets and neighbourhoods: DIST-S001, DIST-N0001
BUILDINGS_PER_NB = 25
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.4\n"
KINDS = ("home", "antigen", "scan", "order", "missed", "rollup")


# --- 1. The district --------------------------------------------------------------------------


def generate(neighbourhoods: int, residents: int) -> None:
    """Streets, neighbourhoods, compounds, buildings, households and residents, inside PostgreSQL."""
    from django.db import connection

    per_nb = residents // neighbourhoods
    per_building = max(1, round(per_nb / 3 / BUILDINGS_PER_NB))  # households per building
    streets = (neighbourhoods + 39) // 40
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO places_street (code, name) SELECT %s || '-S' || lpad(g::text, 3, '0'), '基准街道' || g "
            "FROM generate_series(1, %s) g",
            [TAG, streets],
        )
        cur.execute(
            """INSERT INTO places_neighbourhood (code, name, is_demo, street_id)
               SELECT %s || '-N' || lpad(g::text, 4, '0'), '基准居民区' || g, false, s.id
               FROM generate_series(1, %s) g
               JOIN places_street s ON s.code = %s || '-S' || lpad((1 + (g - 1) / 40)::text, 3, '0')""",
            [TAG, neighbourhoods, TAG],
        )
        cur.execute(
            """INSERT INTO places_compound (name, neighbourhood_id)
               SELECT '基准小区', id FROM places_neighbourhood WHERE code LIKE %s""",
            [f"{TAG}-N%"],
        )
        cur.execute(
            """INSERT INTO places_building (number, name, units, floors, sort_key, compound_id, neighbourhood_id)
               SELECT g::text, g || '号楼', 1, NULL, g, c.id, c.neighbourhood_id
               FROM places_compound c JOIN places_neighbourhood n ON n.id = c.neighbourhood_id
               CROSS JOIN generate_series(1, %s) g WHERE n.code LIKE %s""",
            [BUILDINGS_PER_NB, f"{TAG}-N%"],
        )
        cur.execute(
            """INSERT INTO places_household (unit, room, floor, notes, building_id, neighbourhood_id)
               SELECT '1', (100 + g)::text, NULL, '', b.id, b.neighbourhood_id
               FROM places_building b JOIN places_neighbourhood n ON n.id = b.neighbourhood_id
               CROSS JOIN generate_series(1, %s) g WHERE n.code LIKE %s""",
            [per_building, f"{TAG}-N%"],
        )
        cur.execute(
            """INSERT INTO people_resident (name, gender, id_type, id_number, id_number_hash, phone, phone_hash,
                   phone_last4, relation_to_head, residency, presence, notes, created_at, updated_at,
                   household_id, neighbourhood_id)
               SELECT '居民' || h.id || '-' || g, 'U', 'mainland', '', '', '', '', '', 'other', 'owner',
                      CASE WHEN (h.id + g) %% 20 = 0 THEN 'away' ELSE 'present' END, '', now(), now(),
                      h.id, h.neighbourhood_id
               FROM places_household h JOIN places_neighbourhood n ON n.id = h.neighbourhood_id
               CROSS JOIN generate_series(1, 3) g WHERE n.code LIKE %s""",
            [f"{TAG}-N%"],
        )
        for table in ("places_building", "places_household", "people_resident"):
            cur.execute(f"VACUUM ANALYZE {table}")
    print(f"district generated in {time.perf_counter() - t0:.0f}s")


def district_size() -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT id FROM places_neighbourhood WHERE code LIKE %s", [f"{TAG}-N%"])
        ids = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT count(*) FROM people_resident WHERE neighbourhood_id = ANY(%s)", [ids])
        return len(ids), cur.fetchone()[0]


# --- 2. The morning in the active neighbourhoods -----------------------------------------------


@dataclass
class Nb:
    nb_id: int
    round_id: int
    sampler_token: str
    staff_cookie: str
    group_buy: int
    item: int
    households: list[tuple[str, list[int]]]  # (link token, resident ids) of households not yet swabbed


def _session_cookie(user) -> str:
    """A signed-in session for ``user``, as django.contrib.auth.login makes it."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def _user(username: str, role: str, **place):
    from jiayuan.accounts.models import Assignment, User

    user, _ = User.objects.get_or_create(username=username)
    Assignment.objects.get_or_create(user=user, role=role, **place)
    return user


def _group_buy(nb, today):
    import datetime as dt

    from jiayuan.supplies import services as supplies

    settings_row = supplies.settings_for(nb.pk)
    settings_row.selection_mode = "committee"
    settings_row.save()
    expires = today + dt.timedelta(days=90)
    leader = supplies.leader_apply(
        actor="bench",
        household=nb.households.order_by("id").first(),
        name="基准团长",
        channel="bench",
        documents=[
            {"kind": "permit", "expires_on": expires, "filename": "p.png", "data": PNG},
            {"kind": "licence", "expires_on": expires, "filename": "l.pdf", "data": PDF},
        ],
    )
    supplies.leader_review(actor="bench", leader=leader, approve=True)
    gb = supplies.group_buy_propose(
        actor="bench",
        leader=leader,
        title="基准蔬菜包",
        category="vegetables",
        supplier="bench",
        delivery_date=today + dt.timedelta(days=1),
        items=[{"name": "蔬菜包", "unit_price": "68", "total_quantity": 10_000_000}],
    )
    supplies.group_buy_pick(actor="bench", group_buy=gb)
    return supplies.group_buy_open(actor="bench", group_buy=gb)


def prepare(active: int, seed: int) -> tuple[list[Nb], str, str]:
    """Rounds, people signed in, links and group buys in ``active`` neighbourhoods."""
    from django.db import connection
    from django.utils import timezone

    from jiayuan.accounts.models import HouseholdLink
    from jiayuan.accounts.services import api_token_create, household_link_token
    from jiayuan.core.permissions import Role
    from jiayuan.places.models import Neighbourhood
    from jiayuan.screening import services as screening
    from jiayuan.supplies.models import GroupBuy

    today = timezone.localdate()
    nbs = list(Neighbourhood.objects.filter(code__startswith=f"{TAG}-N").order_by("code")[:active])
    officer = _user(
        f"bench-district-officer-{nbs[0].street_id}", Role.STREET_OFFICER, level="street", street_id=nbs[0].street_id
    )
    _t, officer_token = api_token_create(actor=None, user=officer)
    officer_cookie = _session_cookie(officer)
    out: list[Nb] = []
    rng = random.Random(seed)
    t0 = time.perf_counter()
    for nb in nbs:
        round_ = screening.round_create(actor=None, neighbourhood=nb, date=today, pool_size=10)
        with connection.cursor() as cur:
            # 60 % of the residents already swabbed this morning, ten to a tube.
            cur.execute(
                """INSERT INTO screening_tube (round_id, neighbourhood_id, barcode, pool_size, fill_count, status,
                       is_retest, result, opened_at, closed_at)
                   SELECT %s, %s, 'P' || g, 10, 10, 'closed', false, 'pending', now(), now()
                   FROM generate_series(1, (SELECT count(*) * 6 / 100 + 1 FROM people_resident
                                            WHERE neighbourhood_id = %s)) g""",
                [round_.pk, nb.pk, nb.pk],
            )
            cur.execute(
                """INSERT INTO screening_sample (round_id, tube_id, neighbourhood_id, building_id, resident_id, kind,
                       is_retest, person_name, person_contact, person_contact_hash, sampled_at, day)
                   SELECT %s, t.id, %s, h.building_id, r.id, 'resident', false, '', '', '', now(), %s
                   FROM (SELECT id, household_id, row_number() OVER (ORDER BY id) rn FROM people_resident
                         WHERE neighbourhood_id = %s AND presence = 'present' AND (household_id %% 10) < 6) r
                   JOIN places_household h ON h.id = r.household_id
                   JOIN screening_tube t ON t.round_id = %s AND t.barcode = 'P' || (1 + (r.rn - 1) / 10)""",
                [round_.pk, nb.pk, today, nb.pk, round_.pk],
            )
            cur.execute(
                """SELECT r.household_id, array_agg(r.id ORDER BY r.id) FROM people_resident r
                   WHERE r.neighbourhood_id = %s AND r.presence = 'present' AND (r.household_id %% 10) >= 6
                   GROUP BY r.household_id ORDER BY r.household_id""",
                [nb.pk],
            )
            waiting = cur.fetchall()
        rng.shuffle(waiting)
        live = {
            link.household_id: link
            for link in HouseholdLink.objects.filter(neighbourhood_id=nb.pk, revoked_at__isnull=True)
        }
        live |= {
            link.household_id: link
            for link in HouseholdLink.objects.bulk_create(
                [
                    HouseholdLink(household_id=hid, neighbourhood_id=nb.pk, nonce=secrets.token_urlsafe(16))
                    for hid, _ids in waiting
                    if hid not in live
                ]
            )
        }
        households = [(household_link_token(live[hid]), ids) for hid, ids in waiting]
        sampler = _user(f"bench-district-sampler-{nb.pk}", Role.SAMPLER, level="neighbourhood", neighbourhood=nb)
        staff = _user(f"bench-district-staff-{nb.pk}", Role.COMMITTEE_STAFF, level="neighbourhood", neighbourhood=nb)
        _t, sampler_token = api_token_create(actor=None, user=sampler)
        gb = GroupBuy.objects.filter(neighbourhood=nb, title="基准蔬菜包", status="open").first()
        if gb is None:  # a first run in this database: a leader and an open group buy
            gb = _group_buy(nb, today)
        out.append(
            Nb(
                nb_id=nb.pk,
                round_id=round_.pk,
                sampler_token=sampler_token,
                staff_cookie=_session_cookie(staff),
                group_buy=gb.pk,
                item=gb.items.get().pk,
                households=households,
            )
        )
    with connection.cursor() as cur:
        # As autovacuum would by the time 60 % are swabbed: statistics of the day's partitions and
        # the tables filled above (a partition never analysed turns the missed list's anti-join
        # into a nested loop: seconds instead of tens of milliseconds).
        cur.execute("SHOW autovacuum")
        autovacuum = cur.fetchone()[0]
        for table in ("screening_sample", "screening_tube", "accounts_householdlink"):
            cur.execute(f"ANALYZE {table}")
    print(
        f"morning prepared in {len(out)} neighbourhoods in {time.perf_counter() - t0:.0f}s "
        f"(autovacuum {autovacuum} on this server; tables analysed)"
    )
    connection.close()  # the client processes are forked: they must not share this connection
    return out, officer_token, officer_cookie


# --- 3. The requests ------------------------------------------------------------------------------

Request = tuple[str, str, bytes, dict]  # method, path, body, headers


class Plan:
    """Hands out each kind's requests, never the same resident, tube or household twice in a run."""

    def __init__(self, nbs: list[Nb], officer_token: str, officer_cookie: str, rollup_path: str, run: int) -> None:
        from jiayuan.screening.codes import sampling_code

        self.nbs = nbs
        self.officer_token = officer_token
        self.officer_cookie = officer_cookie
        self.rollup_path = rollup_path
        self.run = run
        # Households answer antigen (their residents) or order; residents not reporting are scanned.
        self.antigen_homes = [(nb, home) for nb in nbs for home in nb.households[0::3]]
        self.order_homes = [(nb, home) for nb in nbs for home in nb.households[1::3]]
        self.scan_codes = [(nb, sampling_code(rid)) for nb in nbs for _t, ids in nb.households[2::3] for rid in ids]
        self.pos = dict.fromkeys(KINDS, 0)
        self.tubes: dict[tuple[int, int], int] = {}  # scans so far per (round, connection): 10 to a tube

    def take(self, kind: str, n: int, conns: int) -> list[list[Request]]:
        jobs: list[list[Request]] = [[] for _ in range(conns)]
        for k in range(n):
            jobs[k % conns].append(self._one(kind, k % conns))
        return jobs

    def _one(self, kind: str, conn: int) -> Request:
        i = self.pos[kind]
        self.pos[kind] += 1
        if kind == "home":
            nb, (token, _ids) = self.antigen_homes[i % len(self.antigen_homes)]
            return ("GET", f"/h/{token}/", b"", {})
        if kind == "antigen":
            # Residents of one household one after the other, as a family reports from one phone.
            nb, (token, ids) = self.antigen_homes[(i // 3) % len(self.antigen_homes)]
            csrf = secrets.token_hex(16)
            body = urlencode({"resident": ids[i % len(ids)], "result": "negative"}).encode()
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={csrf}",
                "X-CSRFToken": csrf,
            }
            return ("POST", f"/h/{token}/screening/antigen/", body, headers)
        if kind == "scan":
            nb, code = self.scan_codes[i % len(self.scan_codes)]
            filled = self.tubes.get((nb.round_id, conn), 0)
            self.tubes[(nb.round_id, conn)] = filled + 1
            tube = f"D{self.run}-{conn:02d}-{filled // 10:05d}"
            body = json.dumps({"tube": tube, "resident_code": code, "idempotency_key": f"d{self.run}-{i}"}).encode()
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {nb.sampler_token}"}
            return ("POST", f"/api/v1/rounds/{nb.round_id}/samples", body, headers)
        if kind == "order":
            nb, (token, _ids) = self.order_homes[i % len(self.order_homes)]
            body = json.dumps(
                {"token": token, "items": [{"item": nb.item, "quantity": 1}], "idempotency_key": f"o{self.run}-{i}"}
            ).encode()
            return ("POST", f"/api/v1/group-buys/{nb.group_buy}/orders", body, {"Content-Type": "application/json"})
        if kind == "missed":
            nb = self.nbs[i % len(self.nbs)]
            return ("GET", f"/screening/{nb.round_id}/missed/", b"", {"Cookie": nb.staff_cookie})
        if self.rollup_path.startswith("/api/"):
            return ("GET", self.rollup_path, b"", {"Authorization": f"Bearer {self.officer_token}"})
        return ("GET", self.rollup_path, b"", {"Cookie": self.officer_cookie})


def _client(port: int, jobs: list[tuple[str, list[Request]]], out) -> None:
    """One client process: a thread per job list, each on one keep-alive connection."""
    results: list[tuple[str, float, int]] = []
    spans: list[tuple[str, float, float]] = []
    lock = threading.Lock()
    ready = threading.Barrier(len(jobs) + 1)

    def run(kind: str, job: list[Request]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine = []
        ready.wait()
        start = time.monotonic()
        for method, path, body, headers in job:
            t0 = time.perf_counter()
            conn.request(method, path, body=body or None, headers=headers)
            resp = conn.getresponse()
            resp.read()
            mine.append((kind, time.perf_counter() - t0, resp.status))
        end = time.monotonic()
        conn.close()
        with lock:
            results.extend(mine)
            spans.append((kind, start, end))

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for t in threads:
        t.start()
    ready.wait()
    for t in threads:
        t.join()
    out.put((results, spans))


def drive(server: h.Server, jobs: list[tuple[str, list[Request]]], clients: int = 2):
    """All job lists at once over ``clients`` forked processes; per kind: results and wall time;
    and the CPU seconds of the server's processes and of its database backends."""
    workers = [server.proc.pid, *h.children(server.proc.pid)]
    backends = h.db_backends()
    cpu0 = (h.cpu_seconds(workers), h.cpu_seconds(backends))
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    jobs = [j for j in jobs if j[1]]
    procs = [ctx.Process(target=_client, args=(server.port, jobs[c::clients], out)) for c in range(clients)]
    for p in procs:
        p.start()
    got = [out.get() for _ in procs]
    at_end = h.load()
    for p in procs:
        p.join()
    cpu = (h.cpu_seconds(workers) - cpu0[0], h.cpu_seconds(backends) - cpu0[1])
    per_kind: dict[str, dict] = {}
    for results, spans in got:
        for kind, lat, status in results:
            k = per_kind.setdefault(kind, {"lat": [], "status": {}, "start": 1e18, "end": 0.0})
            k["lat"].append(lat)
            k["status"][status] = k["status"].get(status, 0) + 1
        for kind, start, end in spans:
            k = per_kind[kind]
            k["start"], k["end"] = min(k["start"], start), max(k["end"], end)
    return per_kind, cpu, at_end


OK = {"home": {200}, "antigen": {302}, "scan": {201}, "order": {201}, "missed": {200}, "rollup": {200}}


def _line(kind: str, k: dict) -> str:
    n = len(k["lat"])
    ok = sum(c for s, c in k["status"].items() if s in OK[kind])
    elapsed = max(k["end"] - k["start"], 1e-9)
    other = {s: c for s, c in k["status"].items() if s not in OK[kind]}
    return (
        f"{kind:8} {n:6,} requests ({ok:,} ok{', other ' + str(other) if other else ''}) in {elapsed:6.1f}s = "
        f"{ok / elapsed:7,.1f}/s; p50 {h.pct(k['lat'], 50) * 1000:7.1f} ms, p99 {h.pct(k['lat'], 99) * 1000:7.1f} ms"
    )


def _drain(stream, path: Path) -> None:
    with path.open("wb") as f:
        for line in stream:
            f.write(line)
            f.flush()


def _rollup_path(port: int, officer_token: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/api/v1/rollup", headers={"Authorization": f"Bearer {officer_token}"})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return "/api/v1/rollup" if resp.status == 200 else "/control/summary/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--neighbourhoods", type=int, default=400)
    parser.add_argument("--residents", type=int, default=1_500_000)
    parser.add_argument("--active", type=int, default=40, help="neighbourhoods the burst touches")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="granian worker processes")
    parser.add_argument("--server-threads", type=int, default=2, help="granian blocking threads per worker")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the number of requests")
    parser.add_argument("--pgbouncer", action="store_true", help="the app reaches PostgreSQL through PgBouncer")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("bench/district.py needs PostgreSQL (DATABASE_URL=postgres://...)")
    db = settings.DATABASES["default"]
    print(
        f"database: {db['NAME']} on {db['HOST']}:{db['PORT']}; sessions: {settings.SESSION_ENGINE.rsplit('.', 1)[-1]}; "
        f"{os.cpu_count()} cores; {h.load()}"
    )
    nbs_count, residents = district_size()
    if nbs_count < args.neighbourhoods:
        if nbs_count:
            sys.exit(f"{nbs_count} district neighbourhoods already there, fewer than asked: use a new database")
        generate(args.neighbourhoods, args.residents)
        nbs_count, residents = district_size()
    print(f"district: {nbs_count:,} neighbourhoods, {residents:,} residents")
    with connection.cursor() as cur:
        cur.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        print(f"database size: {cur.fetchone()[0]}")
    seed = os.getpid()
    nbs, officer_token, officer_cookie = prepare(args.active, seed)

    env = {"JIAYUAN_2FA_REQUIRED": "0"}  # the bench's staff have no authenticator; the check is 1 query
    pgbouncer_dir = None
    if args.pgbouncer:
        started = subprocess.run(
            [
                "bash",
                str(ROOT / "scripts" / "pgbouncer.sh"),
                "start",
                db["HOST"] or "127.0.0.1",
                str(db["PORT"] or 5432),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        values = dict(part.split("=", 1) for part in started.split()[1:])
        pgbouncer_dir = values["JY_PGBOUNCER_DIR"]
        env["DATABASE_URL"] = (
            f"postgres://{db['USER'] or 'postgres'}@127.0.0.1:{values['JY_PGBOUNCER_PORT']}/{db['NAME']}"
        )
        env["DATABASE_PGBOUNCER"] = "1"
        print(f"through PgBouncer (transaction mode) on :{values['JY_PGBOUNCER_PORT']}")
    conns = {"home": 4, "antigen": 4, "scan": 4, "order": 4, "missed": 1, "rollup": 1}
    counts = {
        k: max(conns[k], int(n * args.scale))
        for k, n in {"home": 600, "antigen": 900, "scan": 1500, "order": 600, "missed": 40, "rollup": 20}.items()
    }
    try:
        with h.Server(args.workers, args.server_threads, env=env) as server:
            print(
                f"granian {args.workers} workers × {args.server_threads} threads; "
                f"{args.clients} client processes; connections per kind {conns}"
            )
            # The server's log, drained to a file (a full pipe would stall the server).
            log_path = Path(tempfile.gettempdir()) / f"bench-district-{seed}.log"
            threading.Thread(target=_drain, args=(server.proc.stderr, log_path), daemon=True).start()
            print(f"server log: {log_path}")
            rollup = _rollup_path(server.port, officer_token)
            print(f"roll-up: {rollup}" + ("" if rollup.startswith("/api/") else " (GET /api/v1/rollup not served yet)"))
            plan = Plan(nbs, officer_token, officer_cookie, rollup, run=seed)
            # Warm-up: every worker thread opens its connection and imports each path.
            warm = [(kind, job) for kind in KINDS for job in plan.take(kind, 2 * args.workers * args.server_threads, 2)]
            drive(server, warm, args.clients)

            print("\nalone (CPU per request: server = granian's processes, database = its PostgreSQL backends):")
            alone: dict[str, tuple[float, float]] = {}
            for kind in KINDS:
                per_kind, (server_cpu, db_cpu), at_end = drive(
                    server, [(kind, job) for job in plan.take(kind, counts[kind], conns[kind])], args.clients
                )
                n = len(per_kind[kind]["lat"])
                alone[kind] = (server_cpu / n * 1000, db_cpu / n * 1000)
                print(
                    f"  {_line(kind, per_kind[kind])}; CPU server {alone[kind][0]:6.2f} ms + "
                    f"database {alone[kind][1]:6.2f} ms ({at_end})"
                )

            print("\nthe burst (all kinds at once):")
            jobs = [(kind, job) for kind in KINDS for job in plan.take(kind, counts[kind], conns[kind])]
            per_kind, (server_cpu, db_cpu), at_end = drive(server, jobs, args.clients)
            total = sum(len(k["lat"]) for k in per_kind.values())
            for kind in KINDS:
                print(f"  {_line(kind, per_kind[kind])}")
            span = max(k["end"] for k in per_kind.values()) - min(k["start"] for k in per_kind.values())
            print(
                f"  all: {total:,} requests in {span:.1f}s = {total / span:,.0f}/s; CPU server "
                f"{server_cpu:.1f}s + database {db_cpu:.1f}s ({at_end})"
            )
            print("\nCPU per request (ms), for docs/scale.md:")
            for kind in KINDS:
                print(f"  {kind:8} server {alone[kind][0]:6.2f}  database {alone[kind][1]:6.2f}")
    finally:
        if pgbouncer_dir:
            subprocess.run(["bash", str(ROOT / "scripts" / "pgbouncer.sh"), "stop", pgbouncer_dir], check=False)


if __name__ == "__main__":
    main()
