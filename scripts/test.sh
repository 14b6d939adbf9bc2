#!/usr/bin/env bash
# `make test`: every suite, then one summary line ("N passed, N failed").
#   1. the .NET tests (xunit) against real PostgreSQL and Redis processes;
#   2. the game day: faults injected into a local stack, alerts asserted on Alertmanager's API;
#      the Prometheus/Alertmanager configs, rules and routes (promtool, amtool);
#   3. the Grafana dashboards (structure, links, PromQL parsed by promtool);
#   4. the compose/Traefik/telemetry configs (schema lint and policy tests); the docs' Mermaid diagrams;
#   5. infra/terraform (fmt, provider schemas, policy, cloud-init; scripts/check-infra.sh);
#   6. the delivery pipeline: actionlint, shellcheck of run: blocks, workflow/secret policy tests;
#   7. the container images, built with podman and run read-only as non-root (scripts/image-test.sh).
# Extra arguments go to `dotnet test` (e.g. --filter Name~Redirect).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=0; failed=0; skipped=0; broken=()

# Adds the "N passed, N failed[, N skipped]" line a suite printed last to the totals.
count() {
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$2" | tail -n 1)
  if [ -z "$line" ]; then broken+=("$1 (no summary)"); return; fi
  passed=$((passed + $(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")))
  failed=$((failed + $(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")))
  if [[ $line =~ ([0-9]+)\ skipped ]]; then skipped=$((skipped + BASH_REMATCH[1])); fi
}

# Runs one checking script, shows its output, and adds its summary line to the totals.
suite() {
  local name=$1 title=$2; shift 2
  echo; echo "== $title"
  "$@" 2>&1 | tee "$work/$name.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || broken+=("$name")
  count "$name" "$work/$name.log"
}

# Benchmarks (make restore-bench) take minutes and measure rather than check: out of the default run.
args=("$@")
[[ " $* " == *" --filter "* ]] || args+=(--filter "Category!=Benchmark")

echo "== .NET tests"
if dotnet build apps/Shortener.slnx -nologo -v quiet -p:GIT_SHA="$(git rev-parse HEAD 2>/dev/null || echo unknown)"; then
  dotnet test apps/Shortener.slnx --no-build --results-directory "${TEST_RESULTS_DIR:-$work/trx}" --logger trx --logger "console;verbosity=normal" "${args[@]}" \
    || broken+=(".NET tests")
  # The failed tests with their messages, and the run errors that fail `dotnet test` with every test passed (a
  # fixture whose cleanup threw), again at the end, where a CI log's tail shows them; then the summary line.
  apps/tools/Shortener.TestReport/bin/Debug/net10.0/Shortener.TestReport "${TEST_RESULTS_DIR:-$work/trx}" > "$work/dotnet.summary"
  cat "$work/dotnet.summary"
  sed '$d' "$work/dotnet.summary" > "$work/dotnet.failed"
  count ".NET tests" "$work/dotnet.summary"
else
  broken+=(".NET build")
fi

suite gameday "Game day (faults injected into a local stack; alerts asserted on Alertmanager's API)" scripts/gameday.sh

suite observability "Observability configs" scripts/check-observability.sh

suite dashboards "Grafana dashboards (offline: structure, links, every PromQL expression parsed)" scripts/check-dashboards.sh

suite deploy "Deployment configs" scripts/check-deploy.sh

suite diagrams "Mermaid diagrams of README.md and docs/ (rendered in Chromium as GitHub would)" scripts/check-mermaid.sh

suite infra "Infrastructure (Terraform against the pinned provider schemas, policy, cloud-init)" scripts/check-infra.sh
suite delivery "Delivery pipeline (actionlint, workflow and secret policy tests)" scripts/check-delivery.sh

suite image "Container images (podman builds apps/Dockerfile on local bases, then runs them)" scripts/image-test.sh

echo
[ ${#broken[@]} -eq 0 ] || echo "Failed suites: ${broken[*]}"
[ ! -s "$work/dotnet.failed" ] || cat "$work/dotnet.failed"
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$passed" -eq 0 ] || [ ${#broken[@]} -gt 0 ] || [ "$failed" -gt 0 ]; then exit 1; fi
