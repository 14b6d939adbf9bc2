#!/usr/bin/env bash
# Prints the Alertmanager config for a local run (make run, game day, tests): alertmanager.yml with
# only its delivery endpoints changed, so routes, receivers and inhibitions are the ones shipped.
#   - Telegram and SMTP point at loopback: a local run never notifies anyone. Nothing listens
#     there by default (deliveries fail and are counted in alertmanager_notifications_*); a game
#     day may listen there to capture what would have been sent.
#   - Debian's Alertmanager 0.25 predates telegram bot_token_file (0.26): a placeholder token
#     stands in, and no SMTP authentication is attempted.
# Usage: render-local.sh > DIR/alertmanager.yml
# Env:   LOCAL_TELEGRAM_API_URL (default http://127.0.0.1:9097), LOCAL_SMTP_SMARTHOST (default 127.0.0.1:9098)
set -euo pipefail
source_file="$(dirname "$0")/alertmanager.yml"
telegram_url=${LOCAL_TELEGRAM_API_URL:-http://127.0.0.1:9097}
smarthost=${LOCAL_SMTP_SMARTHOST:-127.0.0.1:9098}

config=$(cat "$source_file")
# Replaces (or deletes, with an empty replacement) the one line matching an extended regex;
# fails if the shipped file no longer has exactly one, so the two cannot drift apart silently.
replace_line() {
  local pattern=$1 replacement=$2 count
  count=$(grep -cE "$pattern" <<<"$config" || true)
  if [ "$count" != 1 ]; then
    echo "render-local.sh: expected one line matching '$pattern' in $source_file, found $count" >&2
    exit 1
  fi
  config=$(awk -v pattern="$pattern" -v replacement="$replacement" '
    $0 ~ pattern { if (replacement != "") { match($0, /^ */); print substr($0, 1, RLENGTH) replacement }; next }
    { print }' <<<"$config")
}

replace_line '^  telegram_api_url: ' "telegram_api_url: $telegram_url"
replace_line '^  smtp_smarthost: ' "smtp_smarthost: $smarthost"
replace_line '^  smtp_require_tls: ' "smtp_require_tls: false"
replace_line '^  smtp_auth_username: ' ""
replace_line '^  smtp_auth_password_file: ' ""
replace_line '^ +- bot_token_file: ' "- bot_token: local-run-placeholder"
replace_line '^  - /etc/alertmanager/telegram.tmpl$' "- $(cd "$(dirname "$0")" && pwd)/telegram.tmpl"

echo "# LOCAL RUN ONLY: rendered by observability/alertmanager/render-local.sh from alertmanager.yml; do not edit."
echo "$config"
