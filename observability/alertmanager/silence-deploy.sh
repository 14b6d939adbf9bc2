#!/usr/bin/env bash
# Silences the alerts a rolling deploy sets off on purpose, for the deploy window only.
#
# A rolling deploy restarts instances one at a time, so each is briefly down and unready: only
# the per-instance alerts (TargetDown, InstanceNotReady) of the deployed services are silenced.
# Service-wide and SLO alerts stay live: if users are hurt during a deploy, that must page.
#
# Usage: silence-deploy.sh [--duration 30m] [--service 'api|worker'] [--comment TEXT] [--author NAME]
#        silence-deploy.sh --expire SILENCE_ID
# Env:   ALERTMANAGER_URL (default http://127.0.0.1:9093)
# Prints the silence id; expire it when the deploy is done, or let it run out.
set -euo pipefail

url=${ALERTMANAGER_URL:-http://127.0.0.1:9093}
duration=30m
service='api|worker'
author="${USER:-$(id -un)}@$(hostname)"
comment="deploy $(git rev-parse --short HEAD 2>/dev/null || echo '(unknown revision)')"
expire=

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case $1 in
    -d | --duration) duration=$2; shift 2 ;;
    -s | --service) service=$2; shift 2 ;;
    -c | --comment) comment=$2; shift 2 ;;
    -a | --author) author=$2; shift 2 ;;
    --expire) expire=$2; shift 2 ;;
    -h | --help) usage ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
  esac
done

if ! command -v amtool >/dev/null 2>&1; then
  echo "amtool is missing: apt-get install prometheus-alertmanager (Debian/Ubuntu), or use the Alertmanager image's amtool" >&2
  exit 1
fi

if [ -n "$expire" ]; then
  amtool --alertmanager.url="$url" silence expire "$expire"
  echo "Expired silence $expire"
  exit 0
fi

id=$(amtool --alertmanager.url="$url" silence add \
  --duration="$duration" --author="$author" --comment="$comment" \
  'alertname=~"TargetDown|InstanceNotReady"' "service=~\"$service\"")
echo "$id"
echo "Silenced TargetDown and InstanceNotReady of service=~\"$service\" for $duration (expire early: $0 --expire $id)" >&2
