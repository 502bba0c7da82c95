#!/usr/bin/env bash
# Set up everything Jiayuan needs on a fresh Debian machine: system packages (Chromium for the
# browser tests, CJK fonts so Chinese renders, gettext for translations), a Python 3.11 virtual
# environment in .venv with the project and its dev tools. Safe to run again: it only does
# what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1;34m[jiayuan]\033[0m %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------------------------
need_pkgs=()
[ -x /usr/bin/chromium ] || need_pkgs+=(chromium)
fc-list 2>/dev/null | grep -qi 'Noto Sans CJK' || need_pkgs+=(fonts-noto-cjk)
command -v msgfmt >/dev/null 2>&1 || need_pkgs+=(gettext)
# initdb/pg_basebackup for the private primary + streaming replica of the replica tests (ADR 0008)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_pkgs+=(postgresql-15)
# a private PgBouncer in transaction mode for the PgBouncer tests (ADR 0016)
[ -x /usr/sbin/pgbouncer ] || need_pkgs+=(pgbouncer)
if [ "${#need_pkgs[@]}" -gt 0 ] && [ "${JIAYUAN_SKIP_APT:-0}" != "1" ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    say "installing Debian packages: ${need_pkgs[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    say "warning: no apt-get; install ${need_pkgs[*]} yourself (browser tests need /usr/bin/chromium)"
  fi
fi

# --- Python ----------------------------------------------------------------------------------
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in python3.11 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PY="$cand"; break
    fi
  done
fi
[ -n "$PY" ] || { echo "Python 3.11 is required" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $PY"
  "$PY" -m venv .venv
fi
stamp=.venv/.jiayuan-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing Python packages"
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>/dev/null || true
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]" 2>&1 | grep -v "is ignored: it is neither" || true
  .venv/bin/python -c "import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in ('django', 'ninja', 'playwright', 'granian')))" || { echo "Python packages failed to install" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
say "setup done"
