#!/usr/bin/env bash
# pgBackRest for the PostgreSQL of `make run`: a local, encrypted repository next to the data.
#   scripts/backup.sh configure DATA_DIR PORT   write the config once (scripts/postgres.sh does this when
#                                               PGBACKREST_CONFIG is set) and print PostgreSQL's archive settings
#   scripts/backup.sh stanza                    create the stanza (idempotent; postgres.sh runs it after start)
#   scripts/backup.sh backup [full|diff|incr]   make backup [TYPE=...]: a backup (pgBackRest makes the first one full)
#   scripts/backup.sh restore [TARGET]          make restore [TARGET='2026-12-02 07:30:00+00']: PostgreSQL must be
#                                               stopped (stop make run); restores the newest backup, or to TARGET
#   scripts/backup.sh info                      pgbackrest info
# The config (and the repository's cipher pass inside it) is PGBACKREST_CONFIG, by default
# .data/pgbackrest/pgbackrest.conf; the repository is repo/ beside it. Without that file the backups
# cannot be decrypted: keep a copy of it somewhere else. Runbook: docs/runbooks/restore.md.
set -euo pipefail
cd "$(dirname "$0")/.."
config=$(realpath -m "${PGBACKREST_CONFIG:-.data/pgbackrest/pgbackrest.conf}")
dir=$(dirname "$config")
stanza=shortener

command -v pgbackrest >/dev/null || { echo "pgBackRest is not installed: sudo apt-get install -y pgbackrest" >&2; exit 127; }

# pgBackRest reads the data directory, so it runs as the user PostgreSQL runs as.
as_owner=()
[ "$(id -u)" = 0 ] && as_owner=(setpriv --reuid=postgres --regid=postgres --init-groups --)
pgbackrest() { (cd "$dir" && "${as_owner[@]}" /usr/bin/pgbackrest --config="$config" --stanza="$stanza" "$@"); }

case "${1:-}" in
  configure)
    data_dir=$(realpath -m "$2"); port=$3
    if [ ! -s "$config" ]; then
      mkdir -p "$dir"/{repo,log,lock,spool,run,metrics}
      umask 077
      # Weekly full, daily differential, hourly incremental (see docs/runbooks/restore.md): keep two fulls.
      cat > "$config" <<EOF
[global]
repo1-path=$dir/repo
repo1-retention-full=2
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=$(openssl rand -base64 48 | tr -d '\n')
compress-type=zst
archive-async=y
spool-path=$dir/spool
process-max=2
start-fast=y
log-path=$dir/log
lock-path=$dir/lock
log-level-console=warn

[$stanza]
pg1-path=$data_dir
pg1-port=$port
pg1-socket-path=$data_dir
EOF
      [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$dir"
    fi
    # 60 s: the RPO target with archiving healthy; each forced switch archives a (compressed, mostly empty) segment.
    printf '%s\n' -c wal_level=replica -c archive_mode=on -c archive_timeout=60s \
      -c "archive_command=pgbackrest --config=$config --stanza=$stanza archive-push %p"
    ;;
  stanza)
    # Once only: stanza-create takes the archive lock, which a recovering server's archive-get needs.
    [ -e "$dir/repo/archive/$stanza/archive.info" ] && [ -e "$dir/repo/backup/$stanza/backup.info" ] && exit 0
    pgbackrest stanza-create >/dev/null
    ;;
  backup)
    type=${2:-incr}
    pgbackrest backup --type="$type"
    pgbackrest info
    if [ -x apps/tools/Shortener.BackupMetrics/bin/Debug/net10.0/Shortener.BackupMetrics ]; then
      # node_exporter's textfile collector can serve this file (docs/runbooks/backup-too-old.md).
      apps/tools/Shortener.BackupMetrics/bin/Debug/net10.0/Shortener.BackupMetrics --out "$dir/metrics/pgbackrest.prom" \
        --info-file <(pgbackrest --output=json info) \
        --postgres "Host=127.0.0.1;Port=$(sed -n 's/^pg1-port=//p' "$config");Username=postgres;Database=postgres" || true
    fi
    ;;
  restore)
    data_dir=$(sed -n 's/^pg1-path=//p' "$config")
    if [ -s "$data_dir/postmaster.pid" ] && kill -0 "$(head -n 1 "$data_dir/postmaster.pid")" 2>/dev/null; then
      echo "PostgreSQL is running on $data_dir: stop make run (Ctrl-C) first." >&2
      exit 1
    fi
    target=()
    [ -n "${2:-}" ] && target=(--type=time "--target=$2" --target-action=promote)
    # --delta: rewrite only what differs, in place (the directory may also be empty or missing).
    pgbackrest restore --delta "${target[@]}"
    echo "Restored into $data_dir${2:+ up to $2}. Start make run again: PostgreSQL replays the archive, then promotes."
    echo "Links created after the target may still be cached in Redis: redis-cli -p 56379 --scan --pattern 'link:*' | xargs -r redis-cli -p 56379 del"
    ;;
  info)
    pgbackrest info
    ;;
  *)
    sed -n '2,13p' "$0" >&2
    exit 2
    ;;
esac
