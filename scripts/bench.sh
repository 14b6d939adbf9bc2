#!/usr/bin/env bash
# Load benchmark: isolated Release build, fresh PostgreSQL + Redis on free loopback ports, wrk scenarios,
# baselines in the same run. Writes bench/results/<date>-<sha>[-quick].{json,md}; prints the table.
# Usage: scripts/bench.sh [--quick] [--keep] [--links N] [--duration S] [--soak S] [--clicks N]
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-benchmark >/dev/null || missing+=(redis-tools)
command -v psql >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
    exit 127
  fi
fi
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 127; }
exec python3 bench/bench.py "$@"
