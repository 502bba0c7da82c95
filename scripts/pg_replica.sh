#!/usr/bin/env bash
# A private PostgreSQL 15 primary and one streaming replica on loopback, for the replica-routing
# tests (ADR 0008). Debian's binaries (/usr/lib/postgresql/15/bin), data under a temporary folder,
# ports chosen free; nothing is left behind after `stop`.
#
#   eval "$(bash scripts/pg_replica.sh start)"   # exports JY_REPLICA_DIR, JY_PRIMARY_PORT, JY_REPLICA_PORT
#   eval "$(bash scripts/pg_replica.sh start --primary-only)"   # no replica (bench/faults.py)
#   bash scripts/pg_replica.sh stop "$JY_REPLICA_DIR"
#
# As root the servers run as the `postgres` system user (initdb refuses root).
set -euo pipefail

PGBIN="${JIAYUAN_PGBIN:-/usr/lib/postgresql/15/bin}"

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  local primary_only="${1:-}"
  [ -x "$PGBIN/initdb" ] || { echo "no PostgreSQL binaries at $PGBIN (apt-get install postgresql-15)" >&2; exit 1; }
  local dir primary_port replica_port
  dir=$(mktemp -d /tmp/jiayuan-replica.XXXXXX)
  chmod 755 "$dir"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
  primary_port=$(free_port)
  replica_port=$(free_port)
  while [ "$replica_port" = "$primary_port" ]; do replica_port=$(free_port); done

  as_pg "$PGBIN/initdb" -D "$dir/primary" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1
  local opts="-c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c fsync=off -c full_page_writes=off"
  opts="$opts -c wal_level=replica -c max_wal_senders=4 -c hot_standby=on -c max_connections=60"
  as_pg "$PGBIN/pg_ctl" -D "$dir/primary" -l "$dir/primary.log" -w -t 30 -o "$opts -c port=$primary_port" start >/dev/null
  if [ "$primary_only" = "--primary-only" ]; then
    echo "export JY_REPLICA_DIR=$dir JY_PRIMARY_PORT=$primary_port"
    return
  fi
  as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$dir/replica" -R -X stream >"$dir/basebackup.log" 2>&1
  as_pg "$PGBIN/pg_ctl" -D "$dir/replica" -l "$dir/replica.log" -w -t 30 -o "$opts -c port=$replica_port" start >/dev/null
  echo "export JY_REPLICA_DIR=$dir JY_PRIMARY_PORT=$primary_port JY_REPLICA_PORT=$replica_port"
}

stop() {
  local dir="${1:?usage: pg_replica.sh stop DIR}"
  case "$dir" in /tmp/jiayuan-replica.*) ;; *) echo "refusing to remove $dir" >&2; exit 1 ;; esac
  for node in replica primary; do
    [ -f "$dir/$node/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$dir/$node" -m immediate -w stop >/dev/null 2>&1 || true
  done
  rm -rf "$dir"
}

case "${1:-}" in
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
