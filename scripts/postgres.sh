#!/usr/bin/env bash
# Runs a local PostgreSQL in the foreground: initialises DATA_DIR on first use, then serves on
# 127.0.0.1:PORT until SIGTERM/SIGINT (then shuts down fast and cleanly).
# PostgreSQL refuses to run as root, so as root it runs as the "postgres" system user.
# Usage: [SHORTENER_DATABASE=name] scripts/postgres.sh DATA_DIR PORT [extra postgres -c settings...]
# With SHORTENER_DATABASE: creates that database if missing and applies the application roles.
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
  # A clone under a directory the postgres user cannot traverse (root's home is 0700, so is mktemp -d):
  # the cluster lives under /var/lib/shortener instead, and DATA_DIR becomes a symlink to it.
  # One directory per clone; `make clean-data` deletes it with .data/.
  home=/var/lib/shortener/$(sha256sum <<<"$data_dir" | cut -c1-16)
  if ! "${as_owner[@]}" test -x "$(dirname "$data_dir")"; then
    outside=$home/postgres
    mkdir -p "$home"
    chmod 755 /var/lib/shortener "$home"
    if [ -d "$data_dir" ] && [ ! -L "$data_dir" ]; then mv "$data_dir" "$outside"; fi
    ln -sfn "$outside" "$data_dir"
    echo "$data_dir is not reachable by the postgres user: the cluster is kept in $outside"
    data_dir=$outside
  fi
  # The same for the pgBackRest repository, which archive_command (run by postgres) writes to.
  if [ -n "${PGBACKREST_CONFIG:-}" ]; then
    repo_dir=$(dirname "$(realpath -m "$PGBACKREST_CONFIG")")
    if ! "${as_owner[@]}" test -x "$(dirname "$repo_dir")"; then
      outside_repo=$home/pgbackrest
      mkdir -p "$home"
      chmod 755 /var/lib/shortener "$home"
      if [ -d "$repo_dir" ] && [ ! -L "$repo_dir" ]; then mv "$repo_dir" "$outside_repo"; fi
      ln -sfn "$outside_repo" "$repo_dir"
      PGBACKREST_CONFIG=$outside_repo/$(basename "$PGBACKREST_CONFIG")
      export PGBACKREST_CONFIG
    fi
  fi
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

# The same least-privilege roles as compose (deploy/compose/postgres/initdb/20-roles.sql), on every
# start and in one transaction: the migrator logs in as shortener_owner, the API and worker as
# shortener_app, and the AppHost's readiness check waits for shortener_app to get in.
if [ -n "${SHORTENER_DATABASE:-}" ]; then
  roles=$(dirname "$(realpath "$0")")/../deploy/compose/postgres/initdb/20-roles.sql
  psql_admin=("$bin_dir/psql" -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -q)
  for _ in $(seq 1 100); do "$bin_dir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres && break; sleep 0.1; done
  if ! { "${psql_admin[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$SHORTENER_DATABASE'" | grep -q 1 \
           || "${psql_admin[@]}" -d postgres -c "CREATE DATABASE \"$SHORTENER_DATABASE\""; } \
     || ! "${psql_admin[@]}" -d "$SHORTENER_DATABASE" --single-transaction -f "$roles"; then
    echo "postgres.sh: could not create the database or apply $roles" >&2
    kill -INT "$pid"
  fi
fi
wait "$pid" || true
wait "$pid" 2>/dev/null || true
