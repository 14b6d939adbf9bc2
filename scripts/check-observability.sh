#!/usr/bin/env bash
# Checks the Prometheus and Alertmanager side without network: generated SLO rules up to date,
# configs valid in every layout (compose, local, game day), rule unit tests, alert and runbook
# conventions, Alertmanager config and routes, and inhibitions and the deploy silence against a
# real Alertmanager on loopback. Prints "N passed, N failed"; exits non-zero on any failure.
# Needs the Debian packages prometheus and prometheus-alertmanager (installed here when root).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

prom=observability/prometheus
am=observability/alertmanager

# --- prerequisites ---------------------------------------------------------------------------
scripts/prerequisites.sh observability || exit 1

work=$(mktemp -d)
alertmanager_pid=
cleanup() {
  [ -n "$alertmanager_pid" ] && kill "$alertmanager_pid" 2>/dev/null && wait "$alertmanager_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
# check NAME COMMAND...: one counted check; its output is shown only when it fails.
check() {
  local name=$1 output
  shift
  if output=$("$@" 2>&1); then
    passed=$((passed + 1))
    echo "ok    $name"
  else
    failed=$((failed + 1))
    echo "FAIL  $name"
    # shellcheck disable=SC2001 # indents every line, which ${var//} cannot anchor
    sed 's/^/      /' <<<"$output"
  fi
}

# --- Prometheus ------------------------------------------------------------------------------
generated_rules_match() {
  python3 observability/slo/generate.py rules --out "$work/generated" || return 1
  mkdir -p "$work/committed"
  cp "$prom"/rules/slo-*.yml "$work/committed/" 2>/dev/null
  diff -ru "$work/committed" "$work/generated" ||
    { echo "Regenerate with: python3 observability/slo/generate.py"; return 1; }
}
check "SLO rules are what observability/slo/generate.py renders from slos.json" generated_rules_match

# The layouts a Prometheus runs from: this file, plus rules/ and targets/ beside it (see prometheus.yml).
layout() {
  local dir=$work/layout-$1
  mkdir -p "$dir"
  ln -s "$PWD/$prom/prometheus.yml" "$dir/prometheus.yml"
  ln -s "$PWD/$prom/rules" "$dir/rules"
  ln -s "$PWD/$prom/targets/$1" "$dir/targets"
  echo "$dir/prometheus.yml"
}
check "promtool check config: compose layout (targets/compose)" promtool check config "$(layout compose)"
check "promtool check config: local layout (targets/local)" promtool check config "$(layout local)"
gameday_config() {
  python3 observability/slo/generate.py gameday --out "$work/gameday" && promtool check config "$work/gameday/prometheus.yml"
}
check "promtool check config: game-day layout (generate.py gameday)" gameday_config
check "promtool check rules" promtool check rules "$prom"/rules/*.yml
for test_file in "$prom"/tests/*.yml; do
  check "promtool test rules $(basename "$test_file")" promtool test rules "$test_file"
done

# Alert conventions, read from the rule files (a small parser for the shapes used there).
alerts_json=$work/alerts.json
python3 - "$prom"/rules/*.yml >"$alerts_json" <<'PY'
import json, re, sys
alerts = []
for path in sys.argv[1:]:
    current = None
    for line in open(path, encoding="utf-8"):
        if re.match(r"^\s*- (alert|record|name):", line):
            current = None
        m = re.match(r"^\s*- alert: (\S+)", line)
        if m:
            current = {"alert": m.group(1), "file": path}
            alerts.append(current)
            continue
        m = re.match(r'^\s*(severity|summary|description|runbook_url): "?(.*?)"?\s*$', line)
        if current is not None and m:
            current[m.group(1)] = m.group(2)
print(json.dumps(alerts))
PY

alert_conventions() {
  python3 - "$alerts_json" <<'PY'
import json, sys
bad = []
for a in json.load(open(sys.argv[1])):
    where = f"{a['alert']} ({a['file']})"
    if a.get("severity") not in ("page", "ticket"):
        bad.append(f"{where}: severity must be page or ticket, not {a.get('severity')!r}")
    for key in ("summary", "description", "runbook_url"):
        if not a.get(key):
            bad.append(f"{where}: no {key} annotation")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
}
check "every alert has severity page|ticket, summary, description and runbook_url" alert_conventions

runbooks_exist() {
  python3 - "$alerts_json" <<'PY'
import json, os, sys
sections = ["## What it means", "## What to check", "## What to do", "## Verify recovery"]
bad = []
for url in sorted({a["runbook_url"] for a in json.load(open(sys.argv[1])) if a.get("runbook_url")}):
    if not url.startswith("docs/runbooks/") or not os.path.isfile(url):
        bad.append(f"{url}: no such runbook")
        continue
    headings = {line.rstrip() for line in open(url, encoding="utf-8")}
    bad += [f"{url}: missing section '{s}'" for s in sections if s not in headings]
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
}
check "every runbook_url is a runbook in docs/runbooks with its four sections" runbooks_exist

unit_test_coverage() {
  python3 - "$alerts_json" "$prom"/tests/*.yml <<'PY'
import json, re, sys
names = {a["alert"] for a in json.load(open(sys.argv[1]))}
fires, quiet = set(), set()
for path in sys.argv[2:]:
    for name, empty in re.findall(r"alertname: (\S+)\s*\n\s*exp_alerts:(\s*\[\])?", open(path, encoding="utf-8").read()):
        (quiet if empty else fires).add(name)
bad = [f"{n}: no unit test where it fires" for n in sorted(names - fires)]
bad += [f"{n}: no unit test where it must stay quiet" for n in sorted(names - quiet)]
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
}
check "every alert has a unit test where it fires and one where it stays quiet" unit_test_coverage

# --- Alertmanager ----------------------------------------------------------------------------
# Debian's 0.25 predates telegram bot_token_file (0.26, used by the pinned image): check the shipped
# file with only that key swapped, and the local rendering as it is run.
sed -E 's/^( +- )bot_token_file: .*/\1bot_token: placeholder/' "$am/alertmanager.yml" >"$work/alertmanager-shipped.yml"
check "amtool check-config: alertmanager.yml (bot_token_file swapped for 0.25)" amtool check-config "$work/alertmanager-shipped.yml"
local_config=$work/alertmanager-local.yml
check "render-local.sh renders the local config" bash -c "'$am/render-local.sh' > '$local_config'"
check "amtool check-config: local rendering" amtool check-config "$local_config"
# Telegram refuses messages over 4096 characters. Render the compact template for the largest group
# the rules can produce (the longest alert name, 50 alerts, every label and annotation padded to 500+
# characters: longer than any real one); a template listing every alert with its annotations (the
# shape of the default one) must fail it.
telegram_group() { # telegram_group FILE: Alertmanager template data, one group per alert rule, in FILE.d/
  python3 - "$1" observability/prometheus/rules/*.yml <<'PY'
import json, os, re, sys
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
names = {m for f in sys.argv[2:] for m in re.findall(r"^\s*- alert: (\S+)", open(f).read(), re.M)}
pad = lambda s: s + "x" * 500
for name in [max(names, key=len)]:
    labels = {"alertname": name, "severity": "page", "service": pad("api"), "slo": pad("slo"), "job": "api"}
    notes = {"summary": pad("summary"), "description": pad("description") * 4, "runbook_url": pad("docs/runbooks/")}
    alerts = [{"status": "firing", "labels": {**labels, "instance": pad(f"shortener-api-{i}:8080")}, "annotations": notes,
               "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": pad("http://prometheus/"),
               "fingerprint": f"{i:016x}"} for i in range(50)]
    json.dump({"receiver": "telegram-page", "status": "firing", "alerts": alerts, "groupLabels": labels, "commonLabels": labels,
               "commonAnnotations": notes, "externalURL": "https://alertmanager.sho.localhost"}, open(f"{out}/{name}.json", "w"))
PY
}
telegram_fits() { # telegram_fits TEMPLATE-TEXT: every group renders to at most 4096 characters
  local data length failed=0
  for data in "$work"/telegram.d/*.json; do
    length=$(amtool template render --template.glob="$am/telegram.tmpl" --template.text="$1" --template.data="$data" | wc -m) || return 1
    if [ "$length" -gt 4096 ]; then echo "$(basename "$data" .json): $length characters"; failed=1; fi
  done
  return "$failed"
}
check "telegram: the largest group of every alert renders in under 4096 characters" \
  bash -c "$(declare -f telegram_group telegram_fits); work='$work' am='$am'; telegram_group '$work/telegram.d' && telegram_fits '{{ template \"telegram.compact\" . }}'"
check "telegram: a template listing every alert with its annotations is caught" \
  bash -c "$(declare -f telegram_fits); work='$work' am='$am'; ! telegram_fits '{{ range .Alerts }}{{ .Labels.instance }} {{ .Annotations.description }}{{ end }}' >/dev/null"
grep -q 'message: .{{ template "telegram.compact" . }}' "$am/alertmanager.yml" && pass_compact=0 || pass_compact=1
check "telegram receivers use the compact template" test "$pass_compact" = 0

no_secret_literals() {
  ! grep -nE '^\s*(bot_token|auth_password|smtp_auth_password|auth_secret|smtp_auth_secret|api_key|password|credentials):' "$am/alertmanager.yml"
}
check "alertmanager.yml holds no secret, only *_file references" no_secret_literals

route_test() {
  local expected=$1
  shift
  amtool config routes test --config.file="$work/alertmanager-shipped.yml" --verify.receivers="$expected" "$@"
}
while read -r expected labels; do
  [ -z "$expected" ] || [ "${expected:0:1}" = "#" ] && continue
  # shellcheck disable=SC2086 # labels are space-separated words
  check "route $labels -> $expected" route_test "$expected" $labels
done <"$am/routes.test"
while read -r alert severity; do
  case $severity in page) receiver=telegram-page ;; *) receiver=email-ticket ;; esac
  check "route alertname=$alert severity=$severity -> $receiver" route_test "$receiver" "alertname=$alert" "severity=$severity"
done < <(python3 -c 'import json,sys; [print(a["alert"], a.get("severity","")) for a in json.load(open(sys.argv[1]))]' "$alerts_json" | sort -u)

# --- Inhibitions and the deploy silence, against a real Alertmanager on loopback --------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
prometheus-alertmanager --config.file="$local_config" --storage.path="$work/alertmanager-data" \
  --web.listen-address="127.0.0.1:$port" --cluster.listen-address= --log.level=warn >"$work/alertmanager.log" 2>&1 &
alertmanager_pid=$!

alertmanager_ready() {
  for _ in $(seq 1 50); do
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/-/ready", timeout=1)' "$url" 2>/dev/null && return 0
    sleep 0.2
  done
  cat "$work/alertmanager.log"
  return 1
}
check "Alertmanager 0.25 starts with the local rendering" alertmanager_ready

# Posts alerts to the Alertmanager, one per argument, labels as k=v,k=v.
post_alerts() {
  python3 - "$url" "$@" <<'PY'
import json, sys, urllib.request
url, alerts = sys.argv[1], []
for spec in sys.argv[2:]:
    labels = dict(pair.split("=", 1) for pair in spec.split(","))
    alerts.append({"labels": labels, "annotations": {"summary": "check-observability.sh"}})
request = urllib.request.Request(url + "/api/v2/alerts", json.dumps(alerts).encode(), {"Content-Type": "application/json"})
urllib.request.urlopen(request, timeout=5)
PY
}
# alert_state EXPECTED LABELS: EXPECTED is active, inhibited, silenced or unsilenced.
alert_state() {
  python3 - "$url" "$1" "$2" <<'PY'
import json, sys, urllib.request
url, expected, spec = sys.argv[1:]
want = dict(pair.split("=", 1) for pair in spec.split(","))
alerts = json.load(urllib.request.urlopen(url + "/api/v2/alerts", timeout=5))
found = [a for a in alerts if a["labels"] == want]
if not found:
    sys.exit(f"no alert {want}")
status = found[0]["status"]
ok = {
    "active": status["state"] == "active",
    "inhibited": bool(status["inhibitedBy"]),
    "silenced": bool(status["silencedBy"]),
    "unsilenced": not status["silencedBy"],
}[expected]
if not ok:
    sys.exit(f"{want}: {status}, expected {expected}")
PY
}
# expect_states SOURCE_LABELS... -- EXPECTED=LABELS...: posts the sources and the targets, then
# checks each target's state.
expect_states() {
  local sources=() arg
  while [ "$1" != "--" ]; do sources+=("$1"); shift; done
  shift
  post_alerts "${sources[@]}" "${@#*=}" || return 1
  for arg in "$@"; do alert_state "${arg%%=*}" "${arg#*=}" || return 1; done
}

if kill -0 "$alertmanager_pid" 2>/dev/null; then
  check "inhibit: a page mutes the ticket of the same alert and SLO, not of another SLO" expect_states \
    alertname=SLOErrorBudgetBurn,severity=page,slo=api-availability,service=api -- \
    inhibited=alertname=SLOErrorBudgetBurn,severity=ticket,slo=api-availability,service=api \
    active=alertname=SLOErrorBudgetBurn,severity=ticket,slo=api-latency,service=api
  check "inhibit: TargetDown mutes other alerts of its instance only" expect_states \
    alertname=TargetDown,severity=ticket,job=worker,instance=w1:8081,service=worker -- \
    inhibited=alertname=InstanceNotReady,severity=ticket,job=blackbox,instance=w1:8081,probe=readyz,service=worker \
    active=alertname=InstanceNotReady,severity=ticket,job=blackbox,instance=w2:8081,probe=readyz,service=worker
  check "inhibit: ServiceDown mutes its service's TargetDown and readiness alerts" expect_states \
    alertname=ServiceDown,severity=page,job=api,service=api -- \
    inhibited=alertname=TargetDown,severity=ticket,job=api,instance=a1:8080,service=api \
    inhibited=alertname=ServiceNotReady,severity=page,service=api \
    active=alertname=TargetDown,severity=ticket,job=node,instance=n1:9100,service=node
  check "inhibit: ServiceNotReady mutes InstanceNotReady of the same service" expect_states \
    alertname=ServiceNotReady,severity=page,service=cache-test -- \
    inhibited=alertname=InstanceNotReady,severity=ticket,job=blackbox,instance=c1:8080,probe=readyz,service=cache-test
  check "inhibit: PostgresDown and RedisDown mute readiness, lag and drops, not SLO pages" expect_states \
    alertname=PostgresDown,severity=page,job=postgres,instance=p1:9187,service=postgres \
    alertname=RedisDown,severity=page,job=redis,instance=r1:9121,service=redis -- \
    inhibited=alertname=ServiceNotReady,severity=page,service=deps-test \
    inhibited=alertname=ClickLagGrowing,severity=ticket,job=worker,service=worker \
    inhibited=alertname=ClicksDropped,severity=page,job=api,service=api \
    active=alertname=SLOErrorBudgetBurn,severity=page,slo=api-latency,service=api

  deploy_silence() {
    local id
    id=$(ALERTMANAGER_URL=$url "$am/silence-deploy.sh" --duration 10m --comment "check-observability.sh" 2>/dev/null) || return 1
    expect_states -- \
      silenced=alertname=TargetDown,severity=ticket,job=api,instance=deploy-1:8080,service=api \
      silenced=alertname=InstanceNotReady,severity=ticket,job=blackbox,instance=deploy-1:8081,probe=readyz,service=worker \
      unsilenced=alertname=ServiceDown,severity=page,job=api,service=api \
      unsilenced=alertname=TargetDown,severity=ticket,job=postgres,instance=deploy-p:9187,service=postgres || return 1
    ALERTMANAGER_URL=$url "$am/silence-deploy.sh" --expire "$id" >/dev/null || return 1
    alert_state unsilenced alertname=TargetDown,severity=ticket,job=api,instance=deploy-1:8080,service=api
  }
  check "silence-deploy.sh silences per-instance alerts of api/worker only, and --expire lifts it" deploy_silence
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
