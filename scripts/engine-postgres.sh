#!/usr/bin/env bash
# Starts or stops the PostgreSQL test engine (Debian's postgresql package).
#   start: idempotent; initdb a cluster under .cache/postgres (owned by the
#          `postgres` OS user when run as root), listen on 127.0.0.1:15432
#          only, trust auth for local connections, create the database
#          `beacon`, wait with pg_isready, write .cache/postgres.env.
#   stop:  fast shutdown, waits for the server to exit.
# PG_PORT overrides the port.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=$root/.cache
dir=$cache/postgres
data=$dir/data
port=${PG_PORT:-15432}
db=beacon
cmd=${1:?usage: engine-postgres.sh start|stop}
# A previous start may have placed the cluster elsewhere (see below): use the
# real path, which the postgres user can reach.
if [ -L "$dir" ]; then dir=$(readlink -f "$dir"); data=$dir/data; fi

bindir=""
for v in 17 16 15; do
  if [ -x /usr/lib/postgresql/$v/bin/initdb ]; then bindir=/usr/lib/postgresql/$v/bin; break; fi
done
if [ -z "$bindir" ]; then
  echo "engine-postgres: installing Debian's postgresql"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  for v in 17 16 15; do
    if [ -x /usr/lib/postgresql/$v/bin/initdb ]; then bindir=/usr/lib/postgresql/$v/bin; break; fi
  done
fi
[ -n "$bindir" ] || { echo "engine-postgres: no PostgreSQL server binaries found" >&2; exit 1; }

# As root, run the server as the postgres OS user (initdb refuses root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

ready() { "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres -U postgres; }

case "$cmd" in
start)
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    # The postgres user must be able to reach the data directory.
    chmod o+x "$root" "$cache" 2>/dev/null || true
    chown postgres:postgres "$dir"
    if ! (cd / && runuser -u postgres -- test -w "$dir"); then
      # A checkout under a private home directory: keep the cluster where the
      # postgres user can reach it, linked from .cache/postgres.
      alt=/var/tmp/beacon-postgres-$(echo "$root" | md5sum | cut -c1-12)
      mkdir -p "$alt" && chown postgres:postgres "$alt"
      rm -rf "$dir"
      ln -s "$alt" "$dir"
      dir=$alt; data=$dir/data
    fi
  fi
  if [ ! -s "$data/PG_VERSION" ]; then
    rm -rf "$data"
    as_pg "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log"; exit 1; }
    cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 128MB
CONF
    # Local test cluster: trust on loopback only.
    cat >"$data/pg_hba.conf" <<HBA
local all all trust
host  all all 127.0.0.1/32 trust
HBA
  fi
  if ! ready; then
    as_pg "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -o "-p $port" -w -t 60 start >/dev/null \
      || { tail -40 "$dir/server.log"; exit 1; }
  fi
  for _ in $(seq 1 60); do ready && break; sleep 0.5; done
  ready || { echo "engine-postgres: server did not become ready" >&2; tail -40 "$dir/server.log"; exit 1; }
  if ! "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
    "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"
  fi
  echo "export PG_URL=postgres://postgres@127.0.0.1:$port/$db?sslmode=disable" >"$cache/postgres.env"
  echo "engine-postgres: ready on 127.0.0.1:$port (database $db); wrote .cache/postgres.env"
  ;;
stop)
  if [ -s "$data/postmaster.pid" ]; then
    as_pg "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null || true
  fi
  rm -f "$cache/postgres.env"
  echo "engine-postgres: stopped"
  ;;
*)
  echo "usage: engine-postgres.sh start|stop" >&2; exit 2 ;;
esac
