"""The benches' ceiling: ``POST /bench/ceiling``, the least a request to this app can cost.

Issue #13 measures each hot path (a scan, an order, an antigen report, a gate passage) against
what *this* machine can do in the same run: a minimal endpoint doing one INSERT, served by the
same server (granian, same workers and threads), the same Django app and the same middleware
stack as the API (security, NUL check, replica routing, session, locale, CSRF (exempted here, as
the API's bearer-token endpoints are), auth, OTP, messages, CSP, htmx, request context, the 503
on a database outage), hit by the same client. The figure a bench prints is the hot path's rate
divided by this one's.

What the ceiling skips, so the comparison is honest about it: authentication (no bearer token or
household link looked up), scope (nothing read to decide who may write what), validation beyond
"the body is JSON", the audit event, the idempotency record and any transaction: it is one
``INSERT … RETURNING id`` in autocommit, the JSON body stored as it came.

Mounted only when the server starts with ``JIAYUAN_BENCH_CEILING=1`` (``jiayuan/urls.py`` adds
``urls()``; the view checks again at request time), so a deployment never serves it. The table is
not a model and has no migration: ``ensure_table()`` creates it (the bench harness calls it,
``bench/_harness.py``), ``drop_table()`` removes it.
"""

from __future__ import annotations

import json
import os

from django.db import connection
from django.http import Http404, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

__all__ = ["ENV", "TABLE", "ceiling", "drop_table", "enabled", "ensure_table", "urls"]

ENV = "JIAYUAN_BENCH_CEILING"
TABLE = "bench_ceiling"


def enabled() -> bool:
    return os.environ.get(ENV) == "1"


def ensure_table() -> None:
    """Create the ceiling's table if it does not exist (PostgreSQL: jsonb; SQLite: text)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} "
                "(id bigserial PRIMARY KEY, body jsonb NOT NULL, at timestamptz NOT NULL DEFAULT now())"
            )
        else:
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} "
                "(id integer PRIMARY KEY AUTOINCREMENT, body text NOT NULL, at text NOT NULL DEFAULT CURRENT_TIMESTAMP)"
            )


def drop_table() -> None:
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {TABLE}")


@csrf_exempt
def ceiling(request):
    """One INSERT of the JSON body; 201 ``{"id": n}``. 404 unless enabled, 405 unless POST,
    400 unless the body is JSON."""
    if not enabled():
        raise Http404
    if request.method != "POST":
        return JsonResponse({"detail": "POST only", "code": "method_not_allowed"}, status=405)
    try:
        json.loads(request.body or b"null")
    except ValueError:
        return JsonResponse({"detail": "body is not JSON", "code": "bad_json"}, status=400)
    with connection.cursor() as cur:
        cur.execute("INSERT INTO bench_ceiling (body) VALUES (%s) RETURNING id", [request.body.decode() or "null"])
        (new_id,) = cur.fetchone()
    return JsonResponse({"id": new_id}, status=201)


def urls() -> list:
    """``[path("bench/ceiling", ceiling)]`` when ``JIAYUAN_BENCH_CEILING=1``, else nothing."""
    return [path("bench/ceiling", ceiling, name="bench_ceiling")] if enabled() else []
