#!/usr/bin/env bash
# `make docs-check`: renders every Mermaid diagram in README.md and docs/ with mermaid-cli (the
# Mermaid library GitHub renders with) in Debian's Chromium, headless, and fails on any diagram
# that does not parse or render; a known-bad diagram must fail too, or the check is not live.
# Prints "N passed, N failed". Not part of `make test`: about 20-30 s per file on 2 cores, and a
# ~450 MB npm install (scripts/mermaid/package-lock.json) on first use. No browser is downloaded.
# Env: CHROMIUM (default /usr/bin/chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
tools=scripts/mermaid
chromium=${CHROMIUM:-/usr/bin/chromium}

if [ ! -x "$chromium" ]; then
  echo "check-mermaid.sh: Chromium is required: sudo apt-get install --no-install-recommends chromium" >&2
  exit 1
fi
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "check-mermaid.sh: Node.js 20 or later is required" >&2
  exit 1
fi
if [ ! -x "$tools/node_modules/.bin/mmdc" ] || [ "$tools/package-lock.json" -nt "$tools/node_modules/.package-lock.json" ]; then
  echo "check-mermaid.sh: installing mermaid-cli ($tools/package-lock.json)"
  PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix "$tools" --no-audit --no-fund --loglevel=error >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/puppeteer.json" <<JSON
{"executablePath": "$chromium", "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
 "--disable-background-networking", "--disable-component-update", "--disable-sync"]}
JSON

render() { # FILE: renders its diagrams into the work directory
  local out
  out="$work/$(tr '/' '_' <<<"$1")"
  "$tools/node_modules/.bin/mmdc" --quiet -p "$work/puppeteer.json" -i "$1" -o "$out" >"$work/log" 2>&1
}

passed=0
failed=0
while IFS= read -r file; do
  if render "$file"; then
    passed=$((passed + 1)); echo "ok   $file ($(grep -c '^```mermaid' "$file") diagrams)"
  else
    failed=$((failed + 1)); echo "FAIL $file"; grep -v '^ *at ' "$work/log" | head -20
  fi
done < <(grep -rl --include='*.md' '^```mermaid' README.md docs | sort)

if render "$tools/bad-diagram.md"; then
  failed=$((failed + 1)); echo "FAIL $tools/bad-diagram.md rendered: the check cannot fail"
else
  passed=$((passed + 1)); echo "ok   $tools/bad-diagram.md is refused"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 1 ]
