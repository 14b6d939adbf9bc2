#!/usr/bin/env bash
# The automated game day (run by `make test`): the whole local stack on free loopback ports, with
# the game-day Prometheus directory that observability/slo/generate.py derives from the shipped
# rules (every window and `for` divided by 60, 2 s scrapes and evaluations), steady traffic, and
# four faults. Every assertion reads Alertmanager's /api/v2/alerts:
#   1. error burst on /{code}   -> SLOErrorBudgetBurn page (api-availability); cleared -> resolved
#   2. latency on /{code}       -> SLOErrorBudgetBurn page (api-latency); cleared -> resolved
#   3. PostgreSQL stopped       -> PostgresDown and ServiceNotReady (inhibited by PostgresDown);
#      restarted                -> both resolve, the same API process is ready again
#   4. worker stopped           -> ClickLagGrowing (from the stream's length in Redis); restarted -> resolved
# Prints how long each alert took, then "N passed, N failed"; exits non-zero on any failure.
#
# Needs the solution built (CONFIGURATION, default Debug; built here if missing), PostgreSQL, Redis
# and the Debian packages prometheus, prometheus-alertmanager, prometheus-postgres-exporter,
# prometheus-redis-exporter, prometheus-blackbox-exporter (installed here when root);
# prometheus-node-exporter and wrk are used when present.
# Env: CONFIGURATION (Debug), GAMEDAY_KEEP=1 keeps the work directory (logs, TSDB) for inspection.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD
configuration=${CONFIGURATION:-Debug}
began=$(date +%s)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

say() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*"; }

# --- prerequisites ---------------------------------------------------------------------------
have() { command -v "$1" >/dev/null 2>&1; }
scripts/prerequisites.sh gameday || exit 1

dll() { echo "$root/apps/src/$1/bin/$configuration/net10.0/$1.dll"; }
api_dll=$(dll Shortener.Api) worker_dll=$(dll Shortener.Worker) migrator_dll=$(dll Shortener.Migrations)
if [ ! -f "$api_dll" ] || [ ! -f "$worker_dll" ] || [ ! -f "$migrator_dll" ]; then
  say "Building apps/Shortener.slnx ($configuration)"
  dotnet build apps/Shortener.slnx -c "$configuration" -nologo -v quiet || exit 1
fi

# --- work directory, ports, processes ---------------------------------------------------------
work=$(mktemp -d /tmp/gameday.XXXXXX)
chmod 755 "$work" # PostgreSQL runs as the postgres user when we are root: it must traverse this
read -r pg_port redis_port api_port worker_port prom_port am_port pgexp_port redisexp_port \
  blackbox_port node_port telegram_port smtp_port < <(python3 -c '
import socket
sockets = [socket.socket() for _ in range(12)]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in sockets])')
api=http://127.0.0.1:$api_port
worker_url=http://127.0.0.1:$worker_port
prom=http://127.0.0.1:$prom_port
am=http://127.0.0.1:$am_port
api_key=$(python3 -c 'import secrets; print("gd_" + secrets.token_urlsafe(36))')
postgres_cs="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=shortener;Timeout=3"
redis_cs="127.0.0.1:$redis_port"

declare -A pid=()
# start NAME COMMAND...: runs COMMAND in the background, output in $work/NAME.log (appended).
start() {
  local name=$1
  shift
  "$@" >>"$work/$name.log" 2>&1 &
  pid[$name]=$!
}
# stop NAME [SIGNAL]: signals the process we started under NAME and waits for it (10 s, then KILL).
stop() {
  local name=$1 signal=${2:-TERM} p=${pid[$1]:-}
  [ -n "$p" ] || return 0
  kill -"$signal" "$p" 2>/dev/null
  for _ in $(seq 1 100); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null
  unset "pid[$name]"
}

start_postgres() {
  # Throwaway data: durability settings off (never for a real database).
  start postgres scripts/postgres.sh "$work/pg" "$pg_port" -c fsync=off -c synchronous_commit=off -c full_page_writes=off
}

# SIGINT to the postmaster is PostgreSQL's fast shutdown; scripts/postgres.sh then exits. (Its own
# INT trap cannot help here: a background job of a script starts with SIGINT ignored.)
stop_postgres() {
  local postmaster
  postmaster=$(head -n 1 "$work/pg/postmaster.pid" 2>/dev/null)
  # Only our postmaster (the PID file may be stale): its command line names our data directory.
  if [ -n "$postmaster" ] && grep -qF "$work/pg" "/proc/$postmaster/cmdline" 2>/dev/null &&
    kill -INT "$postmaster" 2>/dev/null; then
    for _ in $(seq 1 150); do
      kill -0 "$postmaster" 2>/dev/null || break
      sleep 0.1
    done
  fi
  stop postgres TERM # the wrapper, gone by now or told to stop (it sends INT to PostgreSQL)
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # Traffic first, then the services, then what they depend on.
  for name in burst traffic worker api prometheus alertmanager blackbox node pgexp redisexp redis; do
    stop "$name"
  done
  stop_postgres
  if [ "${GAMEDAY_KEEP:-}" = 1 ]; then
    echo "Kept $work"
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits until COMMAND succeeds, up to SECONDS; returns 1 on timeout.
wait_for() {
  local seconds=$1
  shift
  local deadline=$(($(date +%s) + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}
http_ok() { curl -fsS -o /dev/null --max-time 3 "$1"; }

dump_logs() {
  echo "---- diagnostics (work directory $work)"
  local logs=()
  for name in api worker migrator postgres redis pgexp redisexp blackbox node prometheus alertmanager traffic burst; do
    [ -f "$work/$name.log" ] && logs+=("$work/$name.log")
  done
  python3 scripts/gameday/diagnose.py logs 20 "${logs[@]}"
  python3 scripts/gameday/diagnose.py state "$prom" "$am"
  echo "----"
}

fail_setup() {
  say "SETUP FAILED: $*"
  dump_logs
  echo "0 passed, 1 failed"
  exit 1
}

# --- the stack ---------------------------------------------------------------------------------
say "Work directory $work; API $api, worker $worker_url, Prometheus $prom, Alertmanager $am"

# shellcheck disable=SC2012 # version directories: plain names
pg_isready_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/pg_isready
pg_ready() { "$pg_isready_bin" -q -h 127.0.0.1 -p "$pg_port" -U postgres; }
start_postgres
start redis redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no
wait_for 60 pg_ready || fail_setup "PostgreSQL did not start on port $pg_port"
wait_for 10 redis-cli -p "$redis_port" ping || fail_setup "Redis did not start on port $redis_port"

service_env=(env -u OTEL_EXPORTER_OTLP_ENDPOINT
  "ConnectionStrings__postgres=$postgres_cs" "ConnectionStrings__redis=$redis_cs"
  Shutdown__DrainDelay=00:00:00 Logging__LogLevel__Default=Warning)
say "Migrating"
timeout 120 "${service_env[@]}" Migrations__CreateDatabase=true dotnet "$migrator_dll" >>"$work/migrator.log" 2>&1 ||
  fail_setup "the migrator failed (exit $?)"

start_api() {
  start api "${service_env[@]}" ASPNETCORE_URLS="$api" "Auth__BootstrapApiKey=$api_key" Faults__Enabled=true \
    RateLimits__RedirectsPerSecond=0 dotnet "$api_dll"
}
start_worker() {
  start worker "${service_env[@]}" ASPNETCORE_URLS="$worker_url" Aggregator__ClaimMinIdle=00:00:05 dotnet "$worker_dll"
}
start_api
start_worker

start redisexp prometheus-redis-exporter -redis.addr "redis://127.0.0.1:$redis_port" \
  -web.listen-address "127.0.0.1:$redisexp_port" -check-single-streams clicks
start pgexp env DATA_SOURCE_NAME="postgresql://postgres@127.0.0.1:$pg_port/shortener?sslmode=disable&connect_timeout=1" \
  prometheus-postgres-exporter --web.listen-address="127.0.0.1:$pgexp_port"
# The probes use module http_2xx, in the Debian default config (and the upstream image's); a
# minimal one stands in where that file is missing.
blackbox_config=/etc/prometheus/blackbox.yml
if ! grep -q '^  http_2xx:' "$blackbox_config" 2>/dev/null; then
  blackbox_config=$work/blackbox.yml
  printf 'modules:\n  http_2xx:\n    prober: http\n' >"$blackbox_config"
fi
start blackbox prometheus-blackbox-exporter --config.file="$blackbox_config" --web.listen-address="127.0.0.1:$blackbox_port"
if have prometheus-node-exporter; then
  start node prometheus-node-exporter --web.listen-address="127.0.0.1:$node_port" --no-collector.systemd
fi

# Alertmanager with the shipped routes and inhibitions; deliveries go to loopback ports where
# nothing listens (they fail and are counted, nobody is notified).
mkdir -p "$work/alertmanager"
LOCAL_TELEGRAM_API_URL=http://127.0.0.1:$telegram_port LOCAL_SMTP_SMARTHOST=127.0.0.1:$smtp_port \
  observability/alertmanager/render-local.sh >"$work/alertmanager/alertmanager.yml" || fail_setup "render-local.sh failed"
start alertmanager prometheus-alertmanager --config.file="$work/alertmanager/alertmanager.yml" \
  --storage.path="$work/alertmanager/data" --web.listen-address="127.0.0.1:$am_port" \
  --cluster.listen-address= --web.external-url="$am" --log.level=warn

# Prometheus from the game-day directory: the shipped prometheus.yml, the rules scaled down by
# generate.py, the local targets moved to this run's ports.
python3 observability/slo/generate.py gameday --out "$work/prometheus" --scale 60 --scrape-interval 2s \
  --port 9090="$prom_port" --port 9093="$am_port" --port 8080="$api_port" --port 8081="$worker_port" \
  --port 9187="$pgexp_port" --port 9121="$redisexp_port" --port 9115="$blackbox_port" --port 9100="$node_port" ||
  fail_setup "generate.py gameday failed"
expected_targets=12
if [ -z "${pid[node]:-}" ]; then # no node exporter here: nothing to scrape for it
  echo '[]' >"$work/prometheus/targets/node.yml"
  expected_targets=11
fi
start prometheus prometheus --config.file="$work/prometheus/prometheus.yml" --storage.tsdb.path="$work/prometheus/data" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn

wait_for 90 http_ok "$api/readyz" || fail_setup "the API did not become ready"
wait_for 90 http_ok "$worker_url/readyz" || fail_setup "the worker did not become ready"
wait_for 30 http_ok "$am/-/ready" || fail_setup "Alertmanager did not start"
wait_for 30 http_ok "$prom/-/ready" || fail_setup "Prometheus did not start"
api_pid=${pid[api]} worker_pid=${pid[worker]}

# A few links to redirect to, then traffic for the rest of the game day.
: >"$work/codes"
for i in 1 2 3 4 5; do
  curl -fsS --max-time 10 -X POST "$api/api/links" -H "Authorization: Bearer $api_key" -H 'Content-Type: application/json' \
    -d "{\"url\": \"https://example.com/gameday/link-$i\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["code"])' >>"$work/codes" || fail_setup "could not create a link"
done
traffic_rate=40
start traffic python3 -u scripts/gameday/traffic.py "$api" "$api_key" "$work/codes" --rate "$traffic_rate" --create-every 20
say "Stack up in $(($(date +%s) - began)) s; traffic: $traffic_rate req/s (GET /{code}, 1 in 20 a POST /api/links)"

# Every target up and every readiness probe passing (Prometheus sees the whole stack), and some
# traffic in the windows, before any fault.
all_targets_up() {
  curl -fsS --max-time 3 "$prom/api/v1/query" --data-urlencode \
    "query=count(up == 1) == $expected_targets and on () min(probe_success{probe=\"readyz\"}) == 1" |
    python3 -c 'import json, sys; sys.exit(0 if json.load(sys.stdin)["data"]["result"] else 1)'
}
wait_for 60 all_targets_up || fail_setup "Prometheus does not see all $expected_targets targets up and every readiness probe passing"
sleep 10

# --- checks ------------------------------------------------------------------------------------
passed=0
failed=0
pass() { passed=$((passed + 1)); say "ok    $*"; }
fail() { failed=$((failed + 1)); say "FAIL  $*"; }
results=()
record() { results+=("$*"); }

# Every wait stops at the budget, so that a broken stack fails in minutes, not in the sum of the timeouts.
budget_end=$((began + ${GAMEDAY_BUDGET:-600}))
# The processes every scenario relies on (the worker and PostgreSQL are stopped on purpose).
stack_alive() {
  local name
  for name in api prometheus alertmanager traffic redis redisexp pgexp blackbox; do
    kill -0 "${pid[$name]:-0}" 2>/dev/null || { echo "$name exited"; return 1; }
  done
}
t0=$(date +%s)
# await WANT TIMEOUT ALERT [LABEL=VALUE...]: polls Alertmanager's /api/v2/alerts until the alert's
# state (scripts/gameday/alert_state.py) is one of WANT ("active", "active|inhibited", "absent");
# sets $elapsed (seconds since $t0) and $seen (the last state, or what died).
await() {
  local want=$1 timeout=$2 dead
  shift 2
  local deadline=$(($(date +%s) + timeout))
  [ "$deadline" -le "$budget_end" ] || deadline=$budget_end
  while :; do
    seen=$(python3 scripts/gameday/alert_state.py "$am" "$@")
    elapsed=$(($(date +%s) - t0))
    [[ "|$want|" == *"|$seen|"* ]] && return 0
    if ! dead=$(stack_alive); then
      seen="$seen ($dead)"
      return 1
    fi
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 1
  done
}
fault() {
  curl -fsS --max-time 10 -X "$1" "$api/admin/faults" -H "Authorization: Bearer $api_key" \
    -H 'Content-Type: application/json' ${2:+-d "$2"} -o /dev/null
}
# A fired or resolved time, or "-" when the wait failed.
took() { if [ "$1" = 0 ]; then echo "$elapsed s"; else echo "-"; fi; }

# A fault on GET /{code} must fire the named page, which must resolve once the fault is cleared.
# Usage: fault_drill NAME FAULT_JSON FIRE_TIMEOUT ALERT_MATCHERS...
fault_drill() {
  local name=$1 body=$2 fire_timeout=$3 ok fired resolved
  shift 3
  await absent 60 "$@" || fail "$name already $seen before the fault"
  t0=$(date +%s)
  fault PUT "$body" || fail "could not inject the fault for the $name"
  await active "$fire_timeout" "$@"
  ok=$? fired=$(took $ok)
  if [ $ok = 0 ]; then pass "$name fired after $fired"
  else fail "$name not active $elapsed s after the fault (state: $seen)"; fi
  t0=$(date +%s)
  fault DELETE || fail "could not clear the faults"
  await absent 90 "$@"
  ok=$? resolved=$(took $ok)
  if [ $ok = 0 ]; then pass "$name resolved $resolved after the fault was cleared"
  else fail "$name still $seen $elapsed s after the fault was cleared"; fi
  record "$name: fired after $fired, resolved after $resolved"
}

# 1. Error burst -> availability page; cleared -> resolved.
echo
say "1. Error burst: every GET /{code} answers 500"
fault_drill "availability page (SLOErrorBudgetBurn api-availability)" \
  '{"errorRate": 1.0, "route": "/{code}", "durationSeconds": 300}' 90 SLOErrorBudgetBurn slo=api-availability severity=page

# 2. Latency -> latency page; cleared -> resolved.
echo
say "2. Latency: every GET /{code} takes 500 ms more (SLO: 95% within 300 ms)"
fault_drill "latency page (SLOErrorBudgetBurn api-latency)" \
  '{"latencyMs": 500, "route": "/{code}", "durationSeconds": 300}' 120 SLOErrorBudgetBurn slo=api-latency severity=page

# 3. PostgreSQL down -> PostgresDown (page) and ServiceNotReady, which the shipped inhibition mutes
#    while PostgresDown fires (it still reaches Alertmanager: that is what counts here); restarted ->
#    both resolve, and the API and worker that were never restarted are ready again.
echo
say "3. PostgreSQL stopped (SIGINT to the postmaster: fast shutdown)"
t0=$(date +%s)
stop_postgres
await active 60 PostgresDown
ok=$? pg_fired=$(took $ok)
if [ $ok = 0 ]; then pass "PostgresDown fired after $pg_fired"
else fail "PostgresDown not active $elapsed s after PostgreSQL stopped (state: $seen)"; fi
await "active|inhibited" 60 ServiceNotReady service=api
ok=$? ready_fired=$(took $ok) ready_state=$seen
if [ $ok = 0 ]; then pass "ServiceNotReady (api) reached Alertmanager after $ready_fired ($ready_state)"
else fail "ServiceNotReady (api) not in Alertmanager $elapsed s after PostgreSQL stopped (state: $seen)"; fi
say "Restarting PostgreSQL on the same data directory and port"
t0=$(date +%s)
start_postgres
wait_for 60 pg_ready || say "PostgreSQL did not come back"
await absent 60 PostgresDown
ok_pg=$? pg_resolved=$(took $ok_pg)
await absent 60 ServiceNotReady service=api
ok_ready=$? ready_resolved=$(took $ok_ready)
if [ $ok_pg = 0 ] && [ $ok_ready = 0 ]; then
  pass "PostgresDown resolved after $pg_resolved, ServiceNotReady (api) after $ready_resolved"
else
  fail "after the restart: PostgresDown resolved after $pg_resolved, ServiceNotReady (api) after $ready_resolved (- = not within 60 s)"
fi
record "PostgresDown: fired after $pg_fired, resolved after $pg_resolved"
record "ServiceNotReady api ($ready_state): fired after $ready_fired, resolved after $ready_resolved"
recovered() {
  http_ok "$api/readyz" && http_ok "$worker_url/readyz" &&
    curl -fsS -o /dev/null --max-time 5 -X POST "$api/api/links" -H "Authorization: Bearer $api_key" \
      -H 'Content-Type: application/json' -d '{"url": "https://example.com/gameday/after-postgres"}'
}
if wait_for 60 recovered && [ "${pid[api]}" = "$api_pid" ] && [ "${pid[worker]}" = "$worker_pid" ] &&
  kill -0 "$api_pid" 2>/dev/null && kill -0 "$worker_pid" 2>/dev/null; then
  pass "API and worker ready again, links created, $(($(date +%s) - t0)) s after the restart, in the same processes"
else
  fail "API and worker not ready again (or not creating links) without a restart"
fi

# 4. Worker stopped -> the backlog grows -> ClickLagGrowing (from the stream's length in Redis, as
#    nothing else reports the lag); restarted -> it catches up and the alert resolves.
echo
say "4. Worker stopped (SIGTERM); traffic goes on"
xlen() { redis-cli -p "$redis_port" XLEN clicks; }
t0=$(date +%s)
stop worker
# The threshold is 60 entries (not scaled; each entry is one API flush, ~1 s of clicks): traffic goes on.
burst_code=$(head -n 1 "$work/codes")
deadline=$(($(date +%s) + 60))
while [ "$(xlen)" -lt 100 ] && [ "$(date +%s)" -lt "$deadline" ]; do
  if have wrk; then
    start burst wrk -t1 -c4 -d2s "$api/$burst_code"
  else
    start burst curl -s -o /dev/null --parallel --parallel-max 16 "$api/$burst_code?n=[1-4000]"
  fi
  wait "${pid[burst]}" 2>/dev/null
  unset "pid[burst]"
done
say "The click stream holds $(xlen) entries $(($(date +%s) - t0)) s after the worker stopped"
await active 90 ClickLagGrowing
ok=$? lag_fired=$(took $ok)
if [ $ok = 0 ]; then pass "ClickLagGrowing fired after $lag_fired"
else fail "ClickLagGrowing not active $elapsed s after the worker stopped (state: $seen, stream length $(xlen))"; fi
say "Restarting the worker"
t0=$(date +%s)
start_worker
worker_lag() {
  curl -fsS --max-time 3 "$worker_url/lag" | python3 -c 'import json, sys; l = json.load(sys.stdin); print(l["pending"] + l["undelivered"])'
}
caught_up() { [ "$(worker_lag)" -lt 1000 ]; }
caught=-
wait_for 90 caught_up && caught="$(($(date +%s) - t0)) s"
await absent 60 ClickLagGrowing
ok=$? lag_resolved=$(took $ok)
if [ $ok = 0 ] && [ "$caught" != - ]; then
  pass "ClickLagGrowing resolved $lag_resolved after the worker restarted; the worker caught up after $caught"
else
  fail "ClickLagGrowing $seen $elapsed s after the worker restarted; caught up after $caught (lag $(worker_lag 2>/dev/null))"
fi
record "ClickLagGrowing: fired after $lag_fired (worker stopped), resolved after $lag_resolved (worker restarted; caught up after $caught)"

# --- dashboards against live data --------------------------------------------------------------
# Every dashboard panel, variable and recording-rule expression, run against this Prometheus, which
# has now seen normal traffic, errors, latency and outages of every kind.
# The restarted worker's click counters appear with its first batch, and rate() needs two scrapes (15 s
# apart) of them: with pre-aggregated clicks the worker catches up in seconds, so give traffic that long.
say "Letting Prometheus scrape the restarted worker twice"
sleep 35
say "Running every dashboard and recording-rule expression against the game-day Prometheus"
if scripts/check-dashboards.sh "$prom" >"$work/dashboards-live.log" 2>&1; then
  pass "dashboards and recording rules on live data: $(tail -n 1 "$work/dashboards-live.log")"
else
  fail "dashboards and recording rules on live data: $(tail -n 1 "$work/dashboards-live.log")"
  grep -E '^FAIL' "$work/dashboards-live.log" | head -n 40
fi

# --- summary -----------------------------------------------------------------------------------
echo
[ "$failed" -gt 0 ] && dump_logs
echo "Time to fire (from the fault) and to resolve (from its end):"
printf '  %s\n' "${results[@]}"
echo "Game day took $(($(date +%s) - began)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
