# shellcheck shell=bash
# Sourced by the check-*.sh scripts: runs DIR/*.test.mjs with node --test (spec on the console,
# TAP to WORK/node.tap) and adds its pass/fail counts to the caller's $passed/$failed; a run that
# failed without failing a test (a crash, a syntax error) is reported through the caller's fail().
node_tests() {
  local dir=$1 work=$2 status=0 node_passed node_failed
  node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$work/node.tap" "$dir"/*.test.mjs || status=$?
  node_passed=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$work/node.tap" | tail -n 1)
  node_failed=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$work/node.tap" | tail -n 1)
  passed=$((passed + ${node_passed:-0}))
  failed=$((failed + ${node_failed:-0}))
  if [ "$status" -ne 0 ] && [ "${node_failed:-0}" -eq 0 ]; then fail "node --test $dir exited $status"; fi
}
