#!/usr/bin/env bash
# Checks infra/terraform offline and prints "N passed, N failed":
#   1. terraform fmt -check -recursive;
#   2. node --test infra/tests: every argument against the pinned providers' real schemas (read from
#      the @cdktf/provider-* packages, cached), the policy rules with their bad fixtures, and the
#      cloud-init user-data rendered by `terraform apply` of the provider-free cloud-init module
#      (which also validates it), then checked with cloud-init schema, nft --check and shellcheck;
#   3. shellcheck of this script, scripts/infra-boot-test.sh and the user-data's script.
# The user-data applied to a Debian root filesystem is `make infra-boot-test` (root, minutes).
# Needs terraform >= 1.11, Node.js 20, and the Debian packages cloud-init, nftables, shellcheck.
# Usage: scripts/check-infra.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tests=infra/tests

missing=()
for tool in terraform node cloud-init nft shellcheck; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "check-infra.sh: missing ${missing[*]} (terraform 1.11+ from HashiCorp; apt-get install nodejs cloud-init nftables shellcheck)" >&2
  exit 1
fi
if [ ! -d "$tests/node_modules/@cdktf/hcl2json" ] || [ "$tests/package-lock.json" -nt "$tests/node_modules/.package-lock.json" ]; then
  echo "check-infra.sh: installing the pinned npm tools (infra/tests/package-lock.json)"
  npm ci --prefix "$tests" --no-audit --no-fund --loglevel=error >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The image points TF_CLI_CONFIG_FILE at a missing file; an empty one silences the warning.
: > "$work/terraformrc"
export TF_CLI_CONFIG_FILE=$work/terraformrc TF_IN_AUTOMATION=1

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

if terraform fmt -check -recursive -diff infra/terraform infra/tests > "$work/fmt.log" 2>&1; then
  pass "terraform fmt -check -recursive infra"
else
  fail "terraform fmt -check -recursive infra"; cat "$work/fmt.log"
fi

# shellcheck source=scripts/node-tests.sh disable=SC1091
source "$(dirname "$0")/node-tests.sh"
node_tests "$tests" "$work"

if shellcheck scripts/check-infra.sh scripts/infra-boot-test.sh infra/terraform/modules/cloud-init/files/host-setup.sh; then
  pass "shellcheck (3 scripts)"
else
  fail "shellcheck"
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
