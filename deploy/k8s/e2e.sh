#!/usr/bin/env bash
# End-to-end checks against a cluster running deploy/k8s (the e2e overlay in
# .github/workflows/k8s-e2e.yml; any overlay whose limits allow one client to load it):
#   1. smoke: create a link, follow its redirect, see the click counted; internal paths not routed;
#   2. KEDA: with the worker paused, load builds click-stream lag; resumed, KEDA must scale the
#      worker out, every click must be counted exactly once, then the worker scales back in;
#   3. HPA: the same load must scale the API out (KEDA's HPA "keda-hpa-api").
# Needs kubectl (current context), curl, jq and hey. Usage: deploy/k8s/e2e.sh
set -euo pipefail
ns=${NAMESPACE:-shortener}
domain=${DOMAIN:-sho.localhost}
load_seconds=${LOAD_SECONDS:-120}

for tool in kubectl curl jq hey; do
  command -v "$tool" >/dev/null || { echo "e2e.sh: $tool is required" >&2; exit 1; }
done

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() { log "FAIL $*"; exit 1; }
https() { curl -sk --max-time 10 "$@"; }
# wait_until SECONDS DESCRIPTION COMMAND...: retries COMMAND every 5 s.
wait_until() {
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out waiting for $what"
    sleep 5
  done
  log "ok   $what"
}
replicas() { kubectl -n "$ns" get deployment "$1" -o jsonpath='{.spec.replicas}'; }
clicks() { https -H "X-Api-Key: $key" "https://api.$domain/api/links/$code/stats" | jq -r '.totalClicks'; }

key=$(kubectl -n "$ns" get secret api-bootstrap-key -o jsonpath='{.data.api-key}' | base64 -d)

# --- 1. Smoke ----------------------------------------------------------------------------------
code=$(https -X POST "https://api.$domain/api/links" -H "X-Api-Key: $key" -H 'Content-Type: application/json' \
  -d '{"url":"https://example.com/k8s-e2e"}' | jq -r '.code')
if [ -z "$code" ] || [ "$code" = null ]; then fail "POST /api/links returned no code"; fi
log "ok   created link $code"
status=$(https -o /dev/null -w '%{http_code}' "https://$domain/$code")
case "$status" in 301|302|307|308) log "ok   GET /$code answered $status" ;; *) fail "GET /$code answered $status" ;; esac
wait_until 60 "the click is counted" test "$(clicks)" = 1

for host in "$domain" "api.$domain"; do
  for path in /metrics /livez /readyz /healthz /version /openapi/v1.json /admin; do
    status=$(https -o /dev/null -w '%{http_code}' "https://$host$path")
    [ "$status" = 404 ] || fail "https://$host$path answered $status: internal paths must not be routed"
  done
done
log "ok   internal paths are not routed"

# --- 2 and 3. Autoscaling under load -----------------------------------------------------------
api_min=$(replicas api)
kubectl -n "$ns" annotate scaledobject worker autoscaling.keda.sh/paused-replicas=0 --overwrite >/dev/null
wait_until 120 "KEDA pauses the worker at 0 replicas" test "$(replicas worker)" = 0

log "load: ${load_seconds}s of redirects to /$code"
hey -z "${load_seconds}s" -c 64 -disable-redirects "https://$domain/$code" > /tmp/hey.txt &
hey_pid=$!
api_scaled=0
while kill -0 "$hey_pid" 2>/dev/null; do
  desired=$(kubectl -n "$ns" get hpa keda-hpa-api -o jsonpath='{.status.desiredReplicas}' 2>/dev/null || echo 0)
  if [ "${desired:-0}" -gt "$api_min" ]; then api_scaled=$desired; fi
  sleep 5
done
wait "$hey_pid"
redirected=$(awk '/\[30[1278]\]/ {sum += $2} END {print sum + 0}' /tmp/hey.txt)
log "load done: $redirected redirects"
[ "$redirected" -gt 0 ] || { cat /tmp/hey.txt; fail "the load produced no redirects"; }
[ "$api_scaled" -gt "$api_min" ] || fail "the API's HPA never wanted more than $api_min replicas under load"
log "ok   the API's HPA scaled out to $api_scaled replicas"

# The lag is in stream entries, one per API replica per flush (ADR 0010; one code is one key): at least
# 2 replicas × 120 s = 240 entries, well above lagCount 20 × the k3d maximum of 4 workers. KEDA sees
# it on its first poll, while no worker runs yet (a resumed worker drains 240 entries in about a second).
kubectl -n "$ns" annotate scaledobject worker autoscaling.keda.sh/paused-replicas- >/dev/null
wait_until 180 "KEDA scales the worker above 1 replica on the stream's lag" test "$(replicas worker)" -gt 1
expected=$((redirected + 1))
wait_until 300 "every click counted exactly once ($expected)" test "$(clicks)" = "$expected"
wait_until 600 "the worker scales back to 1 replica" test "$(replicas worker)" = 1
wait_until 900 "the API scales back to $api_min replicas" test "$(replicas api)" = "$api_min"
log "e2e passed"
