#!/usr/bin/env bash
# Starts a throw-away PostgreSQL server for the tests (idempotent) and prints its URL.
# Debian's postgresql package; the cluster lives in $CFL_PG_DIR (default /tmp/cfl-pg) on port
# $CFL_PG_PORT (default 54329), owned by the postgres user, trusting local connections.
set -euo pipefail
PORT=${CFL_PG_PORT:-54329}
DIR=${CFL_PG_DIR:-/tmp/cfl-pg}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$BIN" ]; then
  echo "postgres.sh: installing Debian's postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
as_pg() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
if ! "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
  if [ ! -f "$DIR/PG_VERSION" ]; then
    mkdir -p "$DIR"
    [ "$(id -u)" -eq 0 ] && chown postgres "$DIR"
    as_pg "'$BIN/initdb' -D '$DIR' -A trust -U postgres --no-sync >/dev/null"
  fi
  as_pg "'$BIN/pg_ctl' -D '$DIR' -o '-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200' -l '$DIR/server.log' -w start >/dev/null"
fi
echo "postgres://postgres@127.0.0.1:$PORT/postgres"
