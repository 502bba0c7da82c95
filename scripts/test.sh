#!/usr/bin/env bash
# The whole test suite, from a fresh machine: setup, lint, migrations check, pytest on SQLite,
# then pytest again on PostgreSQL (127.0.0.1:5432, throwaway database). With CI=true a missing
# PostgreSQL is a failure, not a skip: CI must cover both databases.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
say() { printf '\033[1;34m[jiayuan]\033[0m %s\n' "$*"; }

# Tests never touch the laptop's real data or secrets.
export JIAYUAN_VAR_DIR="${JIAYUAN_TEST_VAR_DIR:-$(mktemp -d)}"
export JIAYUAN_TASK_RUNNER=inline
export DJANGO_ALLOW_ASYNC_UNSAFE=true  # Playwright's sync API runs an event loop in the test thread
unset DATABASE_URL REDIS_URL CELERY_BROKER_URL

say "ruff"
ruff check .
ruff format --check . >/dev/null || { ruff format --diff . | head -50; echo "run: .venv/bin/ruff format ." >&2; exit 1; }

say "makemigrations --check"
jiayuan makemigrations --check --dry-run >/dev/null || { jiayuan makemigrations --check --dry-run; exit 1; }

say "pytest on SQLite"
pytest -q "$@"

PG_HOST="${JIAYUAN_TEST_PG_HOST:-127.0.0.1}"
PG_PORT="${JIAYUAN_TEST_PG_PORT:-5432}"
if python - "$PG_HOST" "$PG_PORT" <<'PY'
import sys, psycopg
try:
    psycopg.connect(host=sys.argv[1], port=int(sys.argv[2]), user="postgres", dbname="postgres", connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL unreachable: {exc}", file=sys.stderr)
    sys.exit(1)
PY
then
  # pytest-django creates test_<name> from this and drops it afterwards.
  export DATABASE_URL="postgres://postgres@${PG_HOST}:${PG_PORT}/jiayuan_$$"
  say "pytest on PostgreSQL ($PG_HOST:$PG_PORT)"
  pytest -q --create-db "$@"
fi

if [ -z "${DATABASE_URL:-}" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "CI=true and PostgreSQL at $PG_HOST:$PG_PORT is unreachable: the suite must run on both databases" >&2
    exit 1
  fi
  say "warning: PostgreSQL unreachable; ran on SQLite only"
fi

# Read replicas on real engines: a private primary and streaming replica on loopback (ADR 0008).
if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
  eval "$(bash scripts/pg_replica.sh start)"
  trap 'bash scripts/pg_replica.sh stop "$JY_REPLICA_DIR"' EXIT
  say "pytest with a streaming replica (primary :$JY_PRIMARY_PORT, replica :$JY_REPLICA_PORT)"
  DATABASE_URL="postgres://postgres@127.0.0.1:${JY_PRIMARY_PORT}/jiayuan" \
    DATABASE_REPLICA_URLS="postgres://postgres@127.0.0.1:${JY_REPLICA_PORT}/jiayuan" \
    pytest -q --create-db -m replica jiayuan/core/tests/test_replicas.py
elif [ "${CI:-}" = "true" ]; then
  echo "CI=true and no PostgreSQL 15 binaries to start a replica with (apt-get install postgresql-15)" >&2
  exit 1
else
  say "warning: no PostgreSQL 15 binaries; replica tests not run"
fi
# PgBouncer in transaction mode on real engines: a private pgbouncer on loopback in front of the
# server above; the test database is created through it and dropped directly afterwards (ADR 0016).
if [ -n "${DATABASE_URL:-}" ] && [ -x /usr/sbin/pgbouncer ]; then
  eval "$(bash scripts/pgbouncer.sh start "$PG_HOST" "$PG_PORT")"
  pgb_db="jiayuan_pgb_$$"
  pgb_cleanup() {
    bash scripts/pgbouncer.sh stop "$JY_PGBOUNCER_DIR"
    python - "$PG_HOST" "$PG_PORT" "test_$pgb_db" <<'PY'
import sys, psycopg
with psycopg.connect(host=sys.argv[1], port=int(sys.argv[2]), user="postgres", dbname="postgres", autocommit=True) as c:
    c.execute(f'DROP DATABASE IF EXISTS "{sys.argv[3]}" WITH (FORCE)')
PY
  }
  say "pytest behind PgBouncer in transaction mode (:$JY_PGBOUNCER_PORT -> $PG_HOST:$PG_PORT)"
  # --reuse-db: pytest-django would drop the database while PgBouncer still holds connections to it.
  DATABASE_URL="postgres://postgres@127.0.0.1:${JY_PGBOUNCER_PORT}/${pgb_db}" DATABASE_PGBOUNCER=1 \
    pytest -q --create-db --reuse-db -m pgbouncer jiayuan/core/tests/test_pgbouncer.py || { pgb_cleanup; exit 1; }
  pgb_cleanup
elif [ "${CI:-}" = "true" ]; then
  echo "CI=true and no PostgreSQL or no pgbouncer (apt-get install pgbouncer): PgBouncer tests not run" >&2
  exit 1
else
  say "warning: no PostgreSQL or no pgbouncer; PgBouncer tests not run"
fi
say "all tests passed on every database reached"
