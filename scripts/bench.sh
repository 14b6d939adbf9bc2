#!/usr/bin/env bash
# Load benchmark: isolated Release build, fresh PostgreSQL + Redis on free loopback ports, wrk scenarios,
# baselines in the same run. Writes bench/results/<date>-<sha>[-quick].{json,md}; prints the table.
# Usage: scripts/bench.sh [--quick] [--keep] [--links N] [--duration S] [--soak S] [--clicks N]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/prerequisites.sh bench
exec python3 bench/bench.py "$@"
