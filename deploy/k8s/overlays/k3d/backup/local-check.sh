#!/usr/bin/env bash
# Runs the k3d overlay's pgBackRest design with real processes on this machine (no cluster needed):
# PostgreSQL archiving through archive-push with backup/pgbackrest.conf (the postgres container),
# `pgbackrest server` with the TLS settings of that file (the pgbackrest sidecar), and the backup
# CronJobs' side with backup-host.conf (repository host, pg1-host-type=tls, client certificate),
# all sharing one repository directory and its lock directory, as the pods share the volume. Then:
#   - stanza-create and a full backup over TLS (the backup waits for archive-push's WAL);
#   - a certificate with another CN is refused (tls-server-auth);
#   - a second backup while one runs fails on the shared lock (the CronJobs exclude each other);
#   - `pgbackrest info --output=json` → Shortener.BackupMetrics (pg_stat_archiver over the socket)
#     → node_exporter's textfile collector serves the metric names the alerts read.
# Paths, ports and the certificate's host name are rewritten for this machine; everything else is
# the overlay's files. Needs root (runs PostgreSQL and pgBackRest as postgres), Debian's
# postgresql (15), pgbackrest, prometheus-node-exporter, openssl, curl and the .NET SDK.
# Versions differ from the image (pgBackRest 2.45 / PostgreSQL 15 here, 2.57.0 / 18 there).
# Usage: deploy/k8s/overlays/k3d/backup/local-check.sh        (prints "N passed, N failed")
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../../../.." && pwd)
pgbin=${PGBIN:-/usr/lib/postgresql/15/bin}
pg_port=${PG_PORT:-55491}
tls_port=${TLS_PORT:-18491}
metrics_port=${METRICS_PORT:-19191}
for tool in "$pgbin/initdb" pgbackrest prometheus-node-exporter openssl curl dotnet runuser setpriv; do
  command -v "$tool" >/dev/null || { echo "local-check.sh: $tool is required" >&2; exit 1; }
done

# Under /var/tmp: every parent must be traversable by the postgres user.
dir=$(mktemp -d /var/tmp/shortener-k3d-backup.XXXXXX)
chmod 755 "$dir"
server_pid=
exporter_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  if [ -n "$exporter_pid" ]; then kill "$exporter_pid" 2>/dev/null || true; fi
  if [ -f "$dir/data/postmaster.pid" ]; then
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$dir/data" -w -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

# --- Certificates: the commands of create-secrets.sh, host name localhost -------------------------
mkdir -p "$dir"/{tls,repo-vol,run,spool,log-pg,log-bk,metrics,pghost/conf.d,backuphost/conf.d}
ec() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "$@" 2>/dev/null; }
ec -x509 -days 1 -subj "/CN=shortener pgBackRest CA" -keyout "$dir/tls/ca.key" -out "$dir/tls/ca.crt"
for cn in server:postgres-0.postgres client:pgbackrest-backup intruder:intruder; do
  ec -subj "/CN=${cn#*:}" -keyout "$dir/tls/${cn%%:*}.key" -out "$dir/tls/${cn%%:*}.csr"
done
sign() {
  openssl x509 -req -in "$dir/tls/$1.csr" -CA "$dir/tls/ca.crt" -CAkey "$dir/tls/ca.key" -CAcreateserial \
    -days 1 -out "$dir/tls/$1.crt" -extfile <(printf '%s\n' "$2") 2>/dev/null
}
sign server "subjectAltName=DNS:localhost
extendedKeyUsage=serverAuth"
sign client "extendedKeyUsage=clientAuth"
sign intruder "extendedKeyUsage=clientAuth"

# --- The overlay's config files, paths and ports rewritten ----------------------------------------
rewrite() {
  sed -e "s#/var/lib/pgbackrest#$dir/repo-vol#g; s#/var/spool/pgbackrest#$dir/spool#; s#/var/log/pgbackrest#$dir/$1#" \
    -e "s#/etc/pgbackrest/tls#$dir/tls#g; s#/var/lib/postgresql/18/docker#$dir/data#; s#/var/run/postgresql#$dir/run#" \
    -e "s#^tls-server-port=.*#tls-server-port=$tls_port#; s#^pg1-host-port=.*#pg1-host-port=$tls_port#" \
    -e "s#^pg1-host=.*#pg1-host=localhost#"
}
for side in pghost:log-pg backuphost:log-bk; do
  { rewrite "${side#*:}" < "$here/pgbackrest.conf"; echo "pg1-port=$pg_port"; } > "$dir/${side%%:*}/pgbackrest.conf"
  printf '[global]\nrepo1-cipher-pass=%s\n' "local-check-cipher-pass" > "$dir/${side%%:*}/conf.d/secrets.conf"
done
rewrite log-bk < "$here/backup-host.conf" > "$dir/backuphost/conf.d/backup-host.conf"
chown -R postgres:postgres "$dir"
chmod 600 "$dir"/tls/*.key

as_postgres() { runuser -u postgres -- "$@"; }
backup_host() { as_postgres pgbackrest --config-path="$dir/backuphost" --stanza=shortener "$@"; }

# --- PostgreSQL with the overlay's archive settings, and the TLS server ---------------------------
as_postgres "$pgbin/initdb" -D "$dir/data" -U shortener -A trust --no-sync >/dev/null
as_postgres "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -o "-p $pg_port -k $dir/run \
  -c listen_addresses=127.0.0.1 -c fsync=off -c wal_level=replica -c archive_mode=on -c archive_timeout=60s \
  -c 'archive_command=pgbackrest --config-path=$dir/pghost --stanza=shortener archive-push %p'" start >/dev/null
# setpriv execs pgbackrest in place (runuser would stay its parent and not pass SIGTERM on), so the
# PID recorded here is the server's own and cleanup stops it.
setpriv --reuid=postgres --regid=postgres --init-groups pgbackrest --config-path="$dir/pghost" server > "$dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$tls_port") 2>/dev/null && break; sleep 0.1; done
kill -0 "$server_pid" 2>/dev/null || { echo "pgbackrest server did not start (port $tls_port in use?):" >&2; cat "$dir/server.log" >&2; exit 1; }

# --- Backups from the repository host ---------------------------------------------------------------
if backup_host stanza-create > "$dir/out" 2>&1 && backup_host --type=full backup >> "$dir/out" 2>&1; then
  pass "stanza-create and a full backup over pgBackRest TLS, WAL archived by archive-push"
else
  fail "full backup over TLS"; cat "$dir/out"
fi

out=$(backup_host --pg1-host-cert-file="$dir/tls/intruder.crt" --pg1-host-key-file="$dir/tls/intruder.key" check 2>&1 || true)
if grep -q 'access denied' <<<"$out"; then
  pass "a client certificate with another CN is refused (tls-server-auth)"
else
  fail "the intruder certificate was not refused"
fi

backup_host --type=incr backup > "$dir/incr.out" 2>&1 &
incr=$!
for _ in $(seq 1 50); do grep -q 'backup command begin' "$dir/incr.out" 2>/dev/null && break; sleep 0.1; done
sleep 0.5
out=$(backup_host --type=diff backup 2>&1 || true)
if grep -q 'unable to acquire lock' <<<"$out"; then
  pass "a second backup during the first fails on the shared lock"
else
  fail "two backups ran at once"; echo "$out"
fi
if wait "$incr"; then pass "the first (incremental) backup completed"; else fail "incremental backup"; cat "$dir/incr.out"; fi

# --- Metrics: the postgres pod's sidecars, once -----------------------------------------------------
as_postgres pgbackrest --config-path="$dir/pghost" --output=json info > "$dir/metrics/info.json"
tool=$repo/apps/tools/Shortener.BackupMetrics
dotnet build "$tool" -v q -nologo > "$dir/build.log" 2>&1 || { cat "$dir/build.log"; exit 1; }
as_postgres dotnet "$tool/bin/Debug/net10.0/Shortener.BackupMetrics.dll" --out "$dir/metrics/pgbackrest.prom" \
  --info-file "$dir/metrics/info.json" --postgres "Host=$dir/run;Port=$pg_port;Username=shortener;Database=postgres"
prometheus-node-exporter --collector.disable-defaults --collector.textfile --collector.textfile.directory="$dir/metrics" \
  --web.listen-address="127.0.0.1:$metrics_port" > "$dir/exporter.log" 2>&1 &
exporter_pid=$!
metrics=
for _ in $(seq 1 50); do metrics=$(curl -fsS "http://127.0.0.1:$metrics_port/metrics" 2>/dev/null) && break; sleep 0.1; done
for pattern in '^pgbackrest_info_success 1$' '^pgbackrest_backup_last_completion_timestamp_seconds\{stanza="shortener",type="full"\}' \
  '^pgbackrest_backup_last_completion_timestamp_seconds\{stanza="shortener",type="incr"\}' '^postgres_wal_archived_total [1-9]' \
  '^postgres_wal_archive_last_success_timestamp_seconds [1-9]' '^node_textfile_scrape_error 0$'; do
  if grep -Eq "$pattern" <<<"$metrics"; then pass "served: $pattern"; else fail "not served: $pattern"; fi
done

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
