#!/usr/bin/env bash
# `make run`: builds, then runs the Aspire AppHost, which starts PostgreSQL, Redis, the migrator,
# the API and the worker as local processes. Ctrl-C stops all of them; nothing is left running.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

api_port=${API_PORT:-8080}
worker_port=${WORKER_PORT:-8081}

dotnet build apps/src/Shortener.AppHost -p:GIT_SHA="$(git rev-parse HEAD 2>/dev/null || echo unknown)" -v quiet -nologo

cat <<INFO

  API            http://127.0.0.1:${api_port}          (OpenAPI: /openapi/v1.json, UI: /scalar)
  Worker         http://127.0.0.1:${worker_port}/lag
  Health         http://127.0.0.1:${api_port}/healthz   /readyz   /livez   /version   /metrics
  Dashboard      http://127.0.0.1:18888          (Aspire: traces, logs, metrics; login link printed below)
  Prometheus     http://127.0.0.1:9090           (alerts: /alerts)    Alertmanager http://127.0.0.1:9093
  Exporters      node :9100  blackbox :9115  redis :9121  postgres :9187
  Faults         make chaos FAULT=errors RATE=0.3 FOR=5m    make chaos FAULT=clear
  PostgreSQL     127.0.0.1:55432 (database shortener: roles postgres, shortener_owner, shortener_app)
  Redis          127.0.0.1:56379 (ACL users shortener-api, -worker, -exporter; passwords in .data/redis-users)
  Data           ${root}/.data   (kept across runs; make clean-data wipes it)
  Admin API key  ${root}/.data/bootstrap-api-key
                 curl -H "Authorization: Bearer \$(cat .data/bootstrap-api-key)" http://127.0.0.1:${api_port}/api/links

INFO

# The AppHost binary itself (not `dotnet run`, which does not pass signals on): the http launch
# profile's settings, then Ctrl-C/SIGTERM become one SIGTERM to the AppHost, which stops everything.
export ASPNETCORE_ENVIRONMENT=Development DOTNET_ENVIRONMENT=Development ASPNETCORE_URLS=http://127.0.0.1:18888 \
  ASPIRE_ALLOW_UNSECURED_TRANSPORT=true ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=http://127.0.0.1:18889 \
  ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL=http://127.0.0.1:18890
apphost_bin=apps/src/Shortener.AppHost/bin/Debug/net10.0/Shortener.AppHost
"$apphost_bin" "Local:ApiPort=${api_port}" "Local:WorkerPort=${worker_port}" &
apphost=$!

stop() { kill -TERM "$apphost" 2>/dev/null || true; }
trap stop INT TERM
# `wait` returns early when a trapped signal arrives; keep waiting until the AppHost has exited.
while kill -0 "$apphost" 2>/dev/null; do wait "$apphost" || true; done
trap - INT TERM

# Aspire's orchestrator (DCP) stops the processes it started in the background after the AppHost exits.
# Wait for it, then make sure nothing of ours is left behind.
ours() { pgrep -f -- "$root/.data|$root/apps/src/Shortener\.|redis-server 127.0.0.1:56379|listen-address[= ]127.0.0.1:91(00|15|21|87)" || true; }
for _ in $(seq 1 45); do
  [ -z "$(ours)" ] && break
  sleep 1
done
leftover=$(ours)
if [ -n "$leftover" ]; then
  echo "Stopping leftover processes: $leftover"
  # shellcheck disable=SC2086,SC2046 # one PID per word
  kill -TERM $leftover 2>/dev/null || true
  sleep 3
  # shellcheck disable=SC2046
  kill -KILL $(ours) 2>/dev/null || true
fi
echo "Stopped."
