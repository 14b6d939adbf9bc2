#!/usr/bin/env bash
# Drives fault injection on every API replica (through the shared Redis key), for game days and demos.
#   scripts/chaos.sh errors RATE DURATION [ROUTE]     e.g. errors 0.3 5m '/{code}'
#   scripts/chaos.sh latency MS DURATION [ROUTE]      e.g. latency 500 2m
#   scripts/chaos.sh cpu SECONDS                      burn every core of every replica
#   scripts/chaos.sh clear | status
# The API must run with Faults__Enabled=true. API_URL (default http://127.0.0.1:8080) and
# API_KEY (default: the key in .data/bootstrap-api-key) select the target and the admin key.
set -euo pipefail
cd "$(dirname "$0")/.."
url=${API_URL:-http://127.0.0.1:8080}
key=${API_KEY:-$(cat .data/bootstrap-api-key 2>/dev/null || true)}
[ -n "$key" ] || { echo "No admin key: set API_KEY or run make run first." >&2; exit 2; }

seconds() { # 90, 90s, 5m, 1h -> seconds
  case "$1" in
    *h) echo $(( ${1%h} * 3600 ));; *m) echo $(( ${1%m} * 60 ));; *s) echo "${1%s}";; *) echo "$1";;
  esac
}
call() { curl -fsS -X "$1" "$url/admin/faults" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' ${2:+-d "$2"}; echo; }

case "${1:-status}" in
  errors)  call PUT "{\"errorRate\": ${2:?rate 0..1}, \"durationSeconds\": $(seconds "${3:-5m}")${4:+, \"route\": \"$4\"}}" ;;
  latency) call PUT "{\"latencyMs\": ${2:?milliseconds}, \"durationSeconds\": $(seconds "${3:-5m}")${4:+, \"route\": \"$4\"}}" ;;
  cpu)     s=$(seconds "${2:-60}"); call PUT "{\"cpuSeconds\": $s, \"durationSeconds\": $s}" ;;
  clear)   call DELETE ;;
  status)  call GET ;;
  *) sed -n '2,9p' "$0"; exit 2 ;;
esac
