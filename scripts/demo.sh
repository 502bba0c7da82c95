#!/usr/bin/env bash
# Set up, load the demo neighbourhood into SQLite (var/jiayuan.sqlite3) and serve Jiayuan on
# granian at http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
jiayuan migrate --noinput -v 0
jiayuan collectstatic --noinput -v 0
# A demo install: the demo logins keep the README's password (with DEBUG off, `jiayuan demo`
# refuses, or with --without-debug makes them change it at first sign-in).
JIAYUAN_DEBUG=1 jiayuan demo
echo
echo "Jiayuan: http://127.0.0.1:${PORT:-8000}   (Ctrl+C to stop)"
# --respawn-failed-workers: a worker that dies (out of memory, a crash) is replaced, not fatal.
exec granian --interface wsgi --host 127.0.0.1 --port "${PORT:-8000}" --workers 1 --blocking-threads 4 \
  --respawn-failed-workers --respawn-interval 1 --log-level warning jiayuan.wsgi:application
