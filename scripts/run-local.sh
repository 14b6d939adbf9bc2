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
  Dashboard      http://127.0.0.1:18888          (login link printed below by Aspire)
  PostgreSQL     127.0.0.1:55432 (user postgres, database shortener)   Redis 127.0.0.1:56379
  Data           ${root}/.data   (kept across runs; make clean-data wipes it)
  Admin API key  ${root}/.data/bootstrap-api-key
                 curl -H "Authorization: Bearer \$(cat .data/bootstrap-api-key)" http://127.0.0.1:${api_port}/api/links

INFO

dotnet run --no-build --project apps/src/Shortener.AppHost --launch-profile http -- \
  "Local:ApiPort=${api_port}" "Local:WorkerPort=${worker_port}" &
apphost=$!

stop() {
  trap - INT TERM
  kill -TERM "$apphost" 2>/dev/null || true
}
trap stop INT TERM
wait "$apphost" || true

# Aspire's orchestrator (DCP) stops the processes it started in the background after the AppHost exits.
# Wait for it, then make sure nothing of ours is left behind.
ours() { pgrep -f -- "$root/.data|$root/apps/src/Shortener\.|aspire.hosting.orchestration.*dcp" || true; }
for _ in $(seq 1 45); do
  [ -z "$(ours)" ] && break
  sleep 1
done
leftover=$(ours)
if [ -n "$leftover" ]; then
  echo "Stopping leftover processes: $leftover"
  kill -TERM $leftover 2>/dev/null || true
  sleep 3
  kill -KILL $(ours) 2>/dev/null || true
fi
echo "Stopped."
