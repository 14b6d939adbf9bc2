#!/usr/bin/env bash
# Creates the local secrets compose.yaml and compose.observability.yaml mount, in ./secrets
# (git-ignored). Idempotent: an existing secret is kept; the files derived from a password
# (pgpass, Redis ACL, exporter map, htpasswd) are rebuilt when missing or older than it.
# Usage: deploy/compose/init-secrets.sh [--print]   (--print: show the admin logins afterwards)
# Rotate a secret: delete its file, run this again, then `docker compose up -d` (PostgreSQL keeps
# the password it was initialised with: change it there too, see secrets/README.md).
set -euo pipefail
cd "$(dirname "$0")"
dir=secrets
mkdir -p "$dir"
# The directory keeps other host users out. The files themselves must stay readable by the
# containers' non-root users: compose mounts file secrets as bind mounts with host permissions.
chmod 700 "$dir"
umask 022

command -v openssl >/dev/null || { echo "init-secrets.sh: openssl is required" >&2; exit 1; }

random() { # random LENGTH: URL- and config-safe alphanumerics
  local value=""
  while [ "${#value}" -lt "$1" ]; do
    value+=$(openssl rand -base64 48 | tr -d '/+=\n')
  done
  printf '%s' "${value:0:$1}"
}

created=()
secret() { # secret NAME VALUE-COMMAND...: writes NAME once, never overwrites
  local file="$dir/$1"; shift
  if [ ! -s "$file" ]; then
    "$@" > "$file.tmp" && mv "$file.tmp" "$file"
    chmod 644 "$file"
    created+=("$(basename "$file")")
  fi
}

derived() { # derived NAME SOURCE VALUE-COMMAND...: (re)writes NAME from SOURCE when stale
  local file="$dir/$1" source="$dir/$2"; shift 2
  if [ ! -s "$file" ] || [ "$source" -nt "$file" ]; then
    "$@" > "$file.tmp" && mv "$file.tmp" "$file"
    chmod 644 "$file"
    created+=("$(basename "$file")")
  fi
}

placeholder() { printf '%s' "$1"; }

pgpass_line() { printf '*:*:*:%s:%s\n' "$1" "$(cat "$dir/$2")"; }
sha256() { openssl dgst -sha256 -r < "$1" | cut -d' ' -f1; }
# redis/users.acl with each user's {{name}} replaced by the SHA-256 of its password ("#<hex>").
redis_acl() {
  sed -e "s/{{shortener-api}}/#$(sha256 "$dir/redis_api_password")/" \
      -e "s/{{shortener-worker}}/#$(sha256 "$dir/redis_worker_password")/" \
      -e "s/{{shortener-exporter}}/#$(sha256 "$dir/redis_exporter_password")/" redis/users.acl
}
redis_exporter_map() { printf '{"redis://redis:6379": "%s"}\n' "$(cat "$dir/redis_exporter_password")"; }

# PostgreSQL: the bootstrap superuser (init scripts only), the migration owner, the application role
# (postgres/initdb/20-roles.sql) and the exporter's login.
secret postgres_password random 40
secret postgres_owner_password random 40
secret postgres_app_password random 40
derived postgres_owner_pgpass postgres_owner_password pgpass_line shortener_owner postgres_owner_password
derived postgres_app_pgpass postgres_app_password pgpass_line shortener_app postgres_app_password
secret postgres_exporter_password random 40

# Redis: one ACL user per client (redis/users.acl); the ACL file holds only SHA-256s ("#<hex>").
secret redis_api_password random 40
secret redis_worker_password random 40
secret redis_exporter_password random 40
for source in redis_api_password redis_worker_password redis_exporter_password redis/users.acl; do
  [ "$source" = redis/users.acl ] && path=$source || path=$dir/$source
  if [ "$path" -nt "$dir/redis_acl" ]; then rm -f "$dir/redis_acl"; fi
done
derived redis_acl redis_api_password redis_acl
derived redis_exporter_passwords redis_exporter_password redis_exporter_map

# pgBackRest (compose.backup.yaml): the repositories' cipher passes (lose them and every backup is
# unreadable: keep a copy off the host) and placeholders for the S3 keys of repo2.
pgbackrest_conf() {
  printf '[global]\nrepo1-cipher-pass=%s\nrepo2-cipher-pass=%s\n' "$(random 64)" "$(random 64)"
  printf 'repo2-s3-key=replace-with-the-s3-access-key\nrepo2-s3-key-secret=replace-with-the-s3-secret-key\n'
}
secret pgbackrest_secrets pgbackrest_conf

# The API's first admin key (at least 32 characters).
secret bootstrap_api_key random 48

# Admin UIs: Grafana's own login, and basic auth (user "admin") for the Traefik dashboard,
# Prometheus and Alertmanager.
secret grafana_admin_password random 24
secret traefik_admin_password random 24
htpasswd_line() {
  local password
  password=$(cat "$dir/traefik_admin_password")
  if command -v htpasswd >/dev/null; then
    printf '%s' "$password" | htpasswd -niB admin | sed '/^$/d'
  else
    printf 'admin:%s\n' "$(printf '%s' "$password" | openssl passwd -apr1 -stdin)"
  fi
}
derived traefik_users traefik_admin_password htpasswd_line

# Provided by you, not generated: placeholders keep compose from failing on a missing file.
secret alertmanager_telegram_bot_token placeholder "replace-with-the-telegram-bot-token"
secret alertmanager_smtp_password placeholder "replace-with-the-smtp-password"
secret cf_dns_api_token placeholder "replace-with-a-cloudflare-api-token-with-zone-read-and-dns-edit"

if [ ${#created[@]} -gt 0 ]; then
  echo "init-secrets.sh: wrote ${created[*]} in $(pwd)/$dir"
else
  echo "init-secrets.sh: all secrets already present in $(pwd)/$dir"
fi
if [ "${1:-}" = "--print" ]; then
  echo "Grafana:                     admin / $(cat "$dir/grafana_admin_password")"
  echo "Traefik, Prometheus, Alertmanager: admin / $(cat "$dir/traefik_admin_password")"
  echo "Bootstrap API key:           $(cat "$dir/bootstrap_api_key")"
fi
