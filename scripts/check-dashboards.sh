#!/usr/bin/env bash
# Checks the Grafana dashboards in observability/grafana/dashboards.
#   scripts/check-dashboards.sh [-v] [PROMETHEUS_URL]
# Without a URL: offline checks only (JSON structure, data source uids, runbook links, every PromQL
# expression parsed by promtool, dashboards up to date with their generator).
# With a URL, e.g. http://127.0.0.1:9090 (a Prometheus scraping the running API, worker and
# exporters, as in observability/prometheus/README.md): also runs every panel expression, variable
# query and recording rule against it and fails on errors and unexplained empty results.
# Needs python3 and promtool (Debian package prometheus).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 observability/grafana/tools/check-dashboards.py "$@"
