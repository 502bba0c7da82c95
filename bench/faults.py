"""Fault bench: acknowledged scans while PostgreSQL restarts and while a granian worker is killed.

    .venv/bin/python bench/faults.py [--residents 20000] [--threads 6] [--seconds 40] [--workers 2]

Self-contained, on loopback only: it starts its own PostgreSQL primary (``scripts/pg_replica.sh
start --primary-only``: Debian's PostgreSQL 15 binaries, a free port, data under /tmp), migrates a
database there, generates a neighbourhood, a sampler with an API token and a 10-in-1 round, and
serves the app with granian (``--workers``, ``--respawn-failed-workers``, persistent connections)
as the operator guide runs it. Client threads then post single scans
(``POST /api/v1/rounds/{id}/samples``), each with its own idempotency key, and, like a scanner on a
bad network, retry a failed request (connection error, 5xx) with the same key until it is
acknowledged. During the run:

1. at a third of ``--seconds``, PostgreSQL is restarted (``pg_ctl restart -m fast``);
2. at two thirds, one granian worker is killed with SIGKILL (as an out-of-memory kill would).

It prints, for each fault, the seconds until the next acknowledged scan and the 5xx answers seen
(with their status codes: 503 with Retry-After is the intended answer during a restart); then
acknowledged vs stored samples, acknowledged scans missing from the database (lost), residents
stored twice (duplicates), and whether the server still serves after the worker died (and on how
many workers). Targets: 0 lost, 0 duplicates, still serving. Everything is stopped and removed
afterwards. Never run by the test suite.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiayuan.settings")

import screening as scan_bench  # noqa: E402  (bench/screening.py: data generation, granian helpers)

PGBIN = Path(os.environ.get("JIAYUAN_PGBIN", "/usr/lib/postgresql/15/bin"))


def _start_postgres() -> dict[str, str]:
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "pg_replica.sh"), "start", "--primary-only"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    env = {}
    for part in out.split()[1:]:
        key, _, value = part.partition("=")
        env[key] = value
    return env


def _as_pg(*cmd: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)


def _restart_postgres(data_dir: str) -> None:
    # -l: the new server must not inherit our pipe, or waiting for its output would never end.
    subprocess.run(
        _as_pg(str(PGBIN / "pg_ctl"), "-D", data_dir, "-l", f"{data_dir}.log", "-m", "fast", "-w", "restart"),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


class Scanner(threading.Thread):
    """Posts its scans one by one; retries each with the same key until it is acknowledged."""

    def __init__(self, port: int, token: str, path: str, scans: list[dict], deadline: float, log) -> None:
        super().__init__(daemon=True)
        self.port, self.path, self.scans, self.deadline, self.log = port, path, scans, deadline, log
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.acked: list[str] = []

    def run(self) -> None:
        conn = None
        for scan in self.scans:
            body = json.dumps(scan).encode()
            while time.monotonic() < self.deadline:
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                    conn.request("POST", self.path, body=body, headers=self.headers)
                    resp = conn.getresponse()
                    resp.read()
                    status = resp.status
                except (OSError, http.client.HTTPException):
                    status = 0  # connection refused or reset: the worker died or the server restarts
                    if conn is not None:
                        conn.close()
                    conn = None
                self.log(status)
                if 200 <= status < 300:
                    self.acked.append(scan["resident_code"])
                    break
                if 400 <= status < 500:
                    break  # refused for good (a full tube …): not an outage
                time.sleep(0.2)
            if time.monotonic() >= self.deadline:
                break


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=40.0, help="length of the run under load")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    pg = _start_postgres()
    db_name = "jiayuan_faults"
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{pg['JY_PRIMARY_PORT']}/{db_name}"
    server = None
    try:
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                pg["JY_PRIMARY_PORT"],
                "-U",
                "postgres",
                "-qc",
                f"CREATE DATABASE {db_name}",
            ],
            check=True,
        )
        subprocess.run([str(Path(sys.executable).parent / "jiayuan"), "migrate", "-v", "0"], check=True, cwd=ROOT)
        import datetime as dt

        import django

        django.setup()
        from django.db import connection

        from jiayuan.accounts.models import Assignment, User
        from jiayuan.accounts.services import api_token_create
        from jiayuan.core.permissions import Role
        from jiayuan.places.models import Compound, Neighbourhood, Street
        from jiayuan.screening import services
        from jiayuan.screening.codes import sampling_code
        from jiayuan.screening.models import Sample

        street = Street.objects.create(code="FAULT", name="故障街道")
        nb = Neighbourhood.objects.create(street=street, code="FAULT-1", name="故障演练")
        compound = Compound.objects.create(neighbourhood=nb, name="演练小区")
        with connection.cursor() as cur:
            scan_bench._generate(cur, nb.pk, compound.pk, args.residents)
        sampler = User.objects.create_user(username="fault-sampler", password=None)
        Assignment.objects.create(user=sampler, role=Role.SAMPLER, level="neighbourhood", neighbourhood=nb)
        _t, token = api_token_create(actor=None, user=sampler)
        round_ = services.round_create(actor=None, neighbourhood=nb, date=dt.date.today(), pool_size=10)  # noqa: DTZ011
        ids = list(nb.residents.order_by("id").values_list("id", flat=True))
        connection.close()

        server = scan_bench.Server(
            args.workers, threads=2, extra=["--respawn-failed-workers", "--respawn-interval", "1"]
        )
        path = f"/api/v1/rounds/{round_.pk}/samples"
        per_thread = len(ids) // args.threads
        events: list[tuple[float, int]] = []
        lock = threading.Lock()

        def log(status: int) -> None:
            with lock:
                events.append((time.monotonic(), status))

        start = time.monotonic()
        deadline = start + args.seconds
        threads = []
        for t in range(args.threads):
            mine = ids[t * per_thread : (t + 1) * per_thread]
            scans = [
                {"tube": f"F{t}-{n // 10:05d}", "resident_code": sampling_code(i), "idempotency_key": f"f-{t}-{n}"}
                for n, i in enumerate(mine)
            ]
            threads.append(Scanner(server.port, token, path, scans, deadline, log))
        for th in threads:
            th.start()

        time.sleep(args.seconds / 3)
        t_restart = time.monotonic()
        _restart_postgres(f"{pg['JY_REPLICA_DIR']}/primary")
        print(f"PostgreSQL restarted at {t_restart - start:.1f}s (took {time.monotonic() - t_restart:.1f}s)")

        time.sleep(max(0.0, start + 2 * args.seconds / 3 - time.monotonic()))
        workers_before = scan_bench._children(server.proc.pid)
        t_kill = time.monotonic()
        os.kill(workers_before[0], signal.SIGKILL)
        print(f"worker {workers_before[0]} killed at {t_kill - start:.1f}s ({len(workers_before)} workers)")

        for th in threads:
            th.join()
        time.sleep(2)  # the respawn interval
        workers_after = scan_bench._children(server.proc.pid)
        still_serving = server.proc.poll() is None

        def after(t0: float) -> tuple[str, list[int]]:
            later = [(t, s) for t, s in events if t >= t0]
            first_ok = next((t for t, s in later if 200 <= s < 300), None)
            bad = sorted({s for t, s in later if (s == 0 or s >= 500) and (first_ok is None or t <= first_ok)})
            return ("never" if first_ok is None else f"{first_ok - t0:.2f}s"), bad

        for label, t0 in (("database restart", t_restart), ("worker killed", t_kill)):
            recover, bad = after(t0)
            n_bad = sum(1 for t, s in events if t >= t0 and (s == 0 or s >= 500))
            print(
                f"{label}: next acknowledged scan after {recover}; failed answers meanwhile {n_bad} "
                f"(statuses {bad}, 0 = connection refused/reset)"
            )

        acked = {code for th in threads for code in th.acked}
        codes_by_id = {sampling_code(i): i for i in ids}
        stored = list(Sample.objects.filter(round=round_).values_list("resident_id", flat=True))
        stored_set = set(stored)
        lost = [c for c in acked if codes_by_id[c] not in stored_set]
        duplicates = len(stored) - len(stored_set)
        fivexx = sum(1 for _t, s in events if s >= 500)
        by_status = Counter(s for _t, s in events if s >= 500)
        print(
            f"requests {len(events):,}, 5xx {fivexx} {dict(by_status)}, "
            f"connection errors {sum(1 for _t, s in events if s == 0)}"
        )
        print(f"acknowledged {len(acked):,}, stored {len(stored):,}, lost {len(lost)}, duplicates {duplicates}")
        print(
            f"server still serving: {still_serving}; workers {len(workers_before)} before, {len(workers_after)} after"
        )
        print(
            "targets: 0 lost, 0 duplicates, still serving —",
            "MET" if not lost and not duplicates and still_serving else "NOT MET",
        )
        connection.close()
    finally:
        if server is not None:
            server.stop()
        subprocess.run(["bash", str(ROOT / "scripts" / "pg_replica.sh"), "stop", pg["JY_REPLICA_DIR"]], check=False)


if __name__ == "__main__":
    main()
