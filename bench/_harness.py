"""What every HTTP bench shares: the server, the client, the ceiling and the ratio (issue #13).

A hot path's requests/s depends on the machine and on what else runs on it (today: 2 cores shared
by several workers), so a figure alone says little. Each bench therefore measures, in the same run,
with the same server and the same client, a *ceiling*: ``POST /bench/ceiling``
(``jiayuan/core/bench.py``), the same Django app and middleware doing one INSERT and nothing else.
The figure is the ratio ``hot path rate / ceiling rate``; both are printed, with the load average.

API (import with ``sys.path.insert(0, "bench")``; ``import _harness as h``):

``Server(workers, threads, extra=None, env=None)``
    granian (WSGI) serving ``jiayuan.wsgi:application`` on a free loopback port with ``workers``
    processes × ``threads`` blocking threads, persistent DB connections (``JIAYUAN_CONN_MAX_AGE``)
    and ``JIAYUAN_BENCH_CEILING=1``. ``.port``, ``.proc``, ``.stop()``; a context manager.
    ``extra``: more granian flags; ``env``: more environment.
``drive(port, jobs, clients=2, headers=None, server_pid=None, warmup=None) -> Run``
    ``jobs`` is a list of job lists, one per keep-alive connection (thread); each job is
    ``(path, body)`` (``body`` a dict, or bytes already encoded) or ``(path, body, headers)``; all
    are POSTs. The job lists are spread over ``clients`` forked processes (so the client does not
    hold one GIL against the server). ``warmup``: a GET path each connection asks three times
    first (opens every worker's DB connection). Returns a ``Run``: ``elapsed`` (first start to last
    end), ``results`` (``(latency s, status, answer bytes, request body bytes)`` per request), ``load`` (1-minute load
    average at the end), ``cpu`` (seconds of the server's processes, of their PostgreSQL backends
    and of the client), with ``.count(status)``, ``.rate(n)``, ``.p(q)`` and ``.cpu_line(n, what)``.
``alternate(server, jobs, clients=2, headers=None, slices=4) -> (ceiling Run, hot path Run)``
    What the benches use: the ceiling and the hot path in alternating slices (each connection's job
    list cut in ``slices``; before each slice as many ceiling requests), so both see the same load
    on a shared machine; each merged over its slices.
``ceiling(server, connections, clients=2, requests=4000) -> Run``
    The ceiling: ``requests`` POSTs of a small JSON body to ``/bench/ceiling`` over ``connections``
    connections (use the hot path's), after ``ensure_table()``. ``drop_ceiling_table()`` afterwards.
``Figure(label, rate, ceiling, p50, p99, load)`` and ``ratio_line(figure, target)``
    One run's hot path against its ceiling; ``target`` is the ratio asked for (0.5 = 50 %, 3 = 3×).
``summary(label, figures, target)``
    Best and median over ``--repeat`` runs, by ratio.
``free_port()``, ``pct(values, p)``, ``load()``, ``children(pid)``, ``cpu_seconds(pids)``,
``db_backends()``: the small pieces.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiayuan.settings")

CEILING_PATH = "/bench/ceiling"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


class Server:
    """granian serving the app on loopback; see the module docstring."""

    def __init__(self, workers: int, threads: int, extra: list[str] | None = None, env: dict | None = None) -> None:
        self.port = free_port()
        full_env = dict(
            os.environ,
            JIAYUAN_CONN_MAX_AGE=os.environ.get("JIAYUAN_CONN_MAX_AGE", "600"),
            JIAYUAN_ALLOWED_HOSTS="127.0.0.1,localhost",
            JIAYUAN_BENCH_CEILING="1",
            **(env or {}),
        )
        granian = str(Path(sys.executable).parent / "granian")
        self.proc = subprocess.Popen(
            [
                granian,
                "--interface",
                "wsgi",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--blocking-threads",
                str(threads),
                "--no-log",
                *(extra or []),
                "jiayuan.wsgi:application",
            ],
            cwd=str(ROOT),
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("granian did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes, from /proc (0 where it cannot be read)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def db_backends() -> list[int]:
    """PostgreSQL backends serving the bench database (the server's persistent connections)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        pids = [r[0] for r in cur.fetchall()]
    connection.close()
    return pids


@dataclass
class Run:
    elapsed: float
    results: list[tuple[float, int, bytes, bytes]]  # latency, status, answer, request body
    load: str
    cpu: dict = field(default_factory=dict)

    def count(self, status: int) -> int:
        return sum(1 for r in self.results if r[1] == status)

    def rate(self, n: int | None = None) -> float:
        """``n`` (default: every request) per second of wall time."""
        return (len(self.results) if n is None else n) / max(self.elapsed, 1e-9)

    def p(self, q: float) -> float:
        return pct([r[0] for r in self.results], q)

    def cpu_line(self, n: int, what: str = "request") -> str:
        per = {k: v / max(n, 1) * 1000 for k, v in self.cpu.items()}
        cores = os.cpu_count() or 2
        return (
            f"CPU per {what}: server {per.get('server', 0):.2f} ms + database {per.get('db', 0):.2f} ms "
            f"(+ client {per.get('client', 0):.2f} ms) → at most "
            f"{cores * 1000 / max(per.get('server', 0) + per.get('db', 0), 0.01):,.0f}/s on {cores} idle cores"
        )


def _encode(job: list[tuple]) -> list[tuple[str, bytes, dict]]:
    out = []
    for entry in job:
        path, body, *rest = entry
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        out.append((path, data, rest[0] if rest else {}))
    return out


def _client(port: int, headers: dict, jobs: list[list[tuple[str, bytes, dict]]], out) -> None:
    """One client process: a thread per job list, each on one keep-alive connection."""
    results: list[tuple[float, int, bytes, bytes]] = []
    lock = threading.Lock()
    ready = threading.Barrier(len(jobs) + 1)

    def run(job: list[tuple[str, bytes, dict]]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine = []
        ready.wait()
        for path, body, extra in job:
            t0 = time.perf_counter()
            conn.request("POST", path, body=body, headers={**headers, **extra} if extra else headers)
            resp = conn.getresponse()
            data = resp.read()
            mine.append((time.perf_counter() - t0, resp.status, data, body))
        conn.close()
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    ready.wait()
    start = time.monotonic()
    for t in threads:
        t.join()
    out.put((start, time.monotonic(), results))


def drive(
    port: int,
    jobs: list[list[tuple]],
    clients: int = 2,
    headers: dict | None = None,
    server_pid: int | None = None,
    warmup: str | None = None,
) -> Run:
    """Run the job lists (see the module docstring); CLOCK_MONOTONIC is shared by the processes."""
    headers = {"Content-Type": "application/json", **(headers or {})}
    if warmup:
        for _ in range(len(jobs)):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for _ in range(3):
                conn.request("GET", warmup, headers=headers)
                conn.getresponse().read()
            conn.close()
    workers = [server_pid, *children(server_pid)] if server_pid else []
    backends = db_backends()
    cpu0 = {"server": cpu_seconds(workers), "db": cpu_seconds(backends)}
    client_cpu0 = os.times()
    encoded = [_encode(job) for job in jobs if job]
    clients = max(1, min(clients, len(encoded)))
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_client, args=(port, headers, encoded[c::clients], out)) for c in range(clients)]
    for p in procs:
        p.start()
    got = [out.get() for _ in procs]
    at_end = load()
    for p in procs:
        p.join()
    client_cpu1 = os.times()
    cpu = {
        "server": cpu_seconds(workers) - cpu0["server"],
        "db": cpu_seconds(backends) - cpu0["db"],
        "client": (client_cpu1.children_user + client_cpu1.children_system)
        - (client_cpu0.children_user + client_cpu0.children_system),
    }
    start = min(g[0] for g in got)
    end = max(g[1] for g in got)
    return Run(end - start, [r for g in got for r in g[2]], at_end, cpu)


def ensure_ceiling_table() -> None:
    import django

    django.setup()
    from django.db import connection

    from jiayuan.core.bench import ensure_table

    ensure_table()
    connection.close()  # client processes are forked: they must not share this connection


def drop_ceiling_table() -> None:
    from django.db import connection

    from jiayuan.core.bench import drop_table

    drop_table()
    connection.close()


def ceiling(server: Server, connections: int, clients: int = 2, requests: int = 4000) -> Run:
    """The ceiling run: ``requests`` one-INSERT POSTs over ``connections`` keep-alive connections."""
    ensure_ceiling_table()
    # Warm-up: every worker thread opens its DB connection and imports what the request needs.
    warm = [[(CEILING_PATH, {"warmup": k}) for k in range(3)] for _ in range(connections)]
    drive(server.port, warm, clients=clients)
    jobs: list[list[tuple]] = [[] for _ in range(connections)]
    for n in range(requests):
        jobs[n % connections].append((CEILING_PATH, {"n": n, "tube": f"C{n:06d}", "resident_code": "x" * 16}))
    run = drive(server.port, jobs, clients=clients, server_pid=server.proc.pid)
    bad = len(run.results) - run.count(201)
    if bad:
        statuses = sorted({r[1] for r in run.results})
        raise RuntimeError(f"the ceiling answered {bad} requests with something else than 201: {statuses}")
    return run


def _merge(runs: list[Run]) -> Run:
    cpu: dict = {}
    for r in runs:
        for k, v in r.cpu.items():
            cpu[k] = cpu.get(k, 0.0) + v
    return Run(sum(r.elapsed for r in runs), [x for r in runs for x in r.results], runs[-1].load, cpu)


def alternate(
    server: Server,
    jobs: list[list[tuple]],
    clients: int = 2,
    headers: dict | None = None,
    slices: int = 4,
) -> tuple[Run, Run]:
    """The ceiling and the hot path in alternating slices, so both see the same load on a shared
    machine: each connection's job list is cut into ``slices`` consecutive parts; before each part
    of the hot path, as many ceiling requests over the same connections. Returns ``(ceiling,
    hot path)``, each merged over its slices (wall time summed)."""
    ensure_ceiling_table()
    warm = [[(CEILING_PATH, {"warmup": k}) for k in range(3)] for _ in jobs]
    drive(server.port, warm, clients=clients)
    tops, hots = [], []
    for k in range(slices):
        part = [job[k * len(job) // slices : (k + 1) * len(job) // slices] for job in jobs]
        n = sum(len(job) for job in part)
        if not n:
            continue
        top_jobs: list[list[tuple]] = [[] for _ in jobs]
        for i in range(n):
            top_jobs[i % len(jobs)].append((CEILING_PATH, {"n": i, "tube": f"C{i:06d}", "resident_code": "x" * 16}))
        top = drive(server.port, top_jobs, clients=clients, server_pid=server.proc.pid)
        if top.count(201) != len(top.results):
            raise RuntimeError(f"the ceiling answered something else than 201: {sorted({r[1] for r in top.results})}")
        tops.append(top)
        hots.append(drive(server.port, part, clients=clients, headers=headers, server_pid=server.proc.pid))
    return _merge(tops), _merge(hots)


@dataclass
class Figure:
    label: str
    rate: float  # the hot path's figure (scans/s, orders/s, reports/s)
    ceiling: float  # the ceiling's requests/s in the same run
    p50: float = 0.0
    p99: float = 0.0
    load: str = ""

    @property
    def ratio(self) -> float:
        return self.rate / max(self.ceiling, 1e-9)


def _ratio_text(ratio: float) -> str:
    return f"{ratio * 100:.0f} %" if ratio < 1 else f"{ratio:.2f}×"


def ratio_line(figure: Figure, target: float) -> str:
    ok = "OK" if figure.ratio >= target else "BELOW TARGET"
    return (
        f"{figure.label}: {figure.rate:,.0f}/s vs ceiling {figure.ceiling:,.0f} req/s = "
        f"{_ratio_text(figure.ratio)} of the ceiling (target ≥ {_ratio_text(target)}: {ok}); "
        f"p50 {figure.p50 * 1000:.1f} ms, p99 {figure.p99 * 1000:.1f} ms ({figure.load})"
    )


def summary(label: str, figures: list[Figure], target: float) -> str:
    if not figures:
        return f"{label}: no runs"
    best = max(figures, key=lambda f: f.ratio)
    median = statistics.median(f.ratio for f in figures)
    ok = "OK" if best.ratio >= target else "BELOW TARGET"
    return (
        f"{label} over {len(figures)} runs: ratio best {_ratio_text(best.ratio)} ({best.rate:,.0f}/s vs "
        f"{best.ceiling:,.0f} req/s, p99 {best.p99 * 1000:.0f} ms, {best.load}), median {_ratio_text(median)}; "
        f"target ≥ {_ratio_text(target)}: {ok}"
    )
