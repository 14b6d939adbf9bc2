#!/usr/bin/env bash
# `make run`: builds, then runs the Aspire AppHost, which checks that nothing is in the way (another
# run, a taken port), starts PostgreSQL, Redis, the migrator, the API, the worker and the local
# observability stack as local processes, prints the URLs when all are ready, and stops the run with
# the failing resource's last log lines if one exits or is not ready in time. Ctrl-C stops everything;
# what is still running afterwards is stopped by the PID the AppHost recorded.
# Ports (defaults): API_PORT=8080 WORKER_PORT=8081 CONSOLE_PORT=8082 POSTGRES_PORT=55432 REDIS_PORT=56379
#   PROMETHEUS_PORT=9090 ALERTMANAGER_PORT=9093 DASHBOARD_PORT=18888 (its OTLP and resource ports: +1, +2);
#   the exporters' ports are Local__NodeExporterPort and the like (see apps/src/Shortener.AppHost/LocalRun).
set -euo pipefail
cd "$(dirname "$0")/.."

dotnet build apps/src/Shortener.AppHost -p:GIT_SHA="$(git rev-parse HEAD 2>/dev/null || echo unknown)" -v quiet -nologo

dashboard=${DASHBOARD_PORT:-18888}
# The AppHost binary itself (not `dotnet run`, which does not pass signals on), with the http launch
# profile's settings; exec, so Ctrl-C and SIGTERM reach it directly and it stops everything.
export ASPNETCORE_ENVIRONMENT=Development DOTNET_ENVIRONMENT=Development ASPNETCORE_URLS="http://127.0.0.1:${dashboard}" \
  ASPIRE_ALLOW_UNSECURED_TRANSPORT=true ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL="http://127.0.0.1:$((dashboard + 1))" \
  ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL="http://127.0.0.1:$((dashboard + 2))"
for setting in API_PORT:ApiPort WORKER_PORT:WorkerPort CONSOLE_PORT:ConsolePort POSTGRES_PORT:PostgresPort REDIS_PORT:RedisPort \
  PROMETHEUS_PORT:PrometheusPort ALERTMANAGER_PORT:AlertmanagerPort; do
  name=${setting%%:*}
  if [ -n "${!name:-}" ]; then export "Local__${setting#*:}=${!name}"; fi
done
exec apps/src/Shortener.AppHost/bin/Debug/net10.0/Shortener.AppHost
