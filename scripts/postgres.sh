#!/usr/bin/env bash
# Runs a local PostgreSQL in the foreground: initialises DATA_DIR on first use, then serves on
# 127.0.0.1:PORT until SIGTERM/SIGINT (then shuts down fast and cleanly).
# PostgreSQL refuses to run as root, so as root it runs as the "postgres" system user.
# Usage: scripts/postgres.sh DATA_DIR PORT [extra postgres -c settings...]
# With PGBACKREST_CONFIG set, WAL is archived into that pgBackRest repository (scripts/backup.sh).
set -euo pipefail
data_dir=$(realpath -m "$1"); port=$2; shift 2

bin_dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin_dir" ]; then
  echo "PostgreSQL is not installed: sudo apt-get install -y postgresql" >&2
  exit 127
fi

as_owner=()
if [ "$(id -u)" = 0 ]; then
  as_owner=(setpriv --reuid=postgres --regid=postgres --init-groups --)
fi

if [ ! -s "$data_dir/PG_VERSION" ]; then
  mkdir -p "$data_dir"
  chmod 700 "$data_dir"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$data_dir"
  "${as_owner[@]}" "$bin_dir/initdb" -D "$data_dir" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
fi

settings=(-c listen_addresses=127.0.0.1 -c port="$port" -c unix_socket_directories="$data_dir" -c max_connections=200 "$@")
if [ -n "${PGBACKREST_CONFIG:-}" ]; then
  mapfile -t archiving < <("$(dirname "$0")/backup.sh" configure "$data_dir" "$port")
  settings+=("${archiving[@]}")
fi
"${as_owner[@]}" "$bin_dir/postgres" -D "$data_dir" "${settings[@]}" &
pid=$!
if [ -n "${PGBACKREST_CONFIG:-}" ]; then
  # The stanza once PostgreSQL answers (idempotent); until then archive_command fails and PostgreSQL retries.
  ( for _ in $(seq 1 60); do
      "$(dirname "$0")/backup.sh" stanza 2>/dev/null && exit 0
      sleep 1
    done
    echo "pgbackrest stanza-create failed: run scripts/backup.sh stanza to see why" >&2 ) &
fi
# postgres treats SIGTERM as "smart" shutdown (waits for every client); SIGINT is the fast, clean one.
trap 'kill -INT "$pid" 2>/dev/null' TERM INT
wait "$pid" || true
wait "$pid" 2>/dev/null || true
