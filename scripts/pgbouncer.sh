#!/usr/bin/env bash
# A private PgBouncer in transaction mode on a free loopback port, in front of a PostgreSQL server
# (default 127.0.0.1:5432), for the PgBouncer tests and benches (ADR 0016). Debian's `pgbouncer`
# binary; config, auth file, log and pid under a temporary folder; nothing left behind after `stop`.
#
#   eval "$(bash scripts/pgbouncer.sh start)"            # exports JY_PGBOUNCER_DIR, JY_PGBOUNCER_PORT
#   eval "$(bash scripts/pgbouncer.sh start HOST PORT)"  # in front of another server
#   bash scripts/pgbouncer.sh stop "$JY_PGBOUNCER_DIR"
#
# Every database name is passed through to the server (`* =`), so a test run's throwaway database
# works too. PgBouncer refuses to run as root: as root it runs as the `postgres` system user.
set -euo pipefail

PGBOUNCER="${JIAYUAN_PGBOUNCER_BIN:-/usr/sbin/pgbouncer}"

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  local host="${1:-127.0.0.1}" server_port="${2:-5432}"
  [ -x "$PGBOUNCER" ] || { echo "no pgbouncer at $PGBOUNCER (apt-get install pgbouncer)" >&2; exit 1; }
  local dir port
  dir=$(mktemp -d /tmp/jiayuan-pgbouncer.XXXXXX)
  chmod 755 "$dir"
  port=$(free_port)
  # The server trusts loopback (the test server does); a real deployment uses scram-sha-256 and
  # an auth_file or auth_query instead (docs/operator-guide.md).
  echo '"postgres" ""' >"$dir/userlist.txt"
  cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=$host port=$server_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
admin_users = postgres
stats_users = postgres
pool_mode = transaction
max_client_conn = 400
default_pool_size = 20
reserve_pool_size = 5
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
  [ "$(id -u)" -ne 0 ] || chown -R postgres: "$dir"
  as_pg "$PGBOUNCER" -d -q "$dir/pgbouncer.ini"
  local i
  for i in $(seq 1 50); do
    if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.5).close()' "$port" 2>/dev/null; then
      echo "export JY_PGBOUNCER_DIR=$dir JY_PGBOUNCER_PORT=$port"
      return
    fi
    sleep 0.1
  done
  echo "pgbouncer did not start:" >&2
  cat "$dir/pgbouncer.log" >&2 || true
  stop "$dir"
  exit 1
}

stop() {
  local dir="${1:?usage: pgbouncer.sh stop DIR}"
  case "$dir" in /tmp/jiayuan-pgbouncer.*) ;; *) echo "refusing to remove $dir" >&2; exit 1 ;; esac
  if [ -f "$dir/pgbouncer.pid" ]; then
    local pid i
    pid=$(cat "$dir/pgbouncer.pid")
    kill -INT "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start "${2:-}" "${3:-}" ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start [HOST PORT] | stop DIR" >&2; exit 2 ;;
esac
