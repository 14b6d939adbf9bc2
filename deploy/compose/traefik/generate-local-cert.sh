#!/usr/bin/env bash
# Makes the TLS certificate Traefik serves when no ACME resolver is configured: DOMAIN and
# *.DOMAIN (DOMAIN from ../.env, else ../.env.example; sho.localhost by default), written to
# traefik/certs/local.{crt,key} (git-ignored). With mkcert installed (and `mkcert -install` run
# once) browsers trust it; otherwise it is self-signed and browsers warn.
# Usage: deploy/compose/traefik/generate-local-cert.sh [--force]
set -euo pipefail
cd "$(dirname "$0")"
out=certs
crt=$out/local.crt
key=$out/local.key

env_file=../.env
[ -f "$env_file" ] || env_file=../.env.example
# Read one value without sourcing the file (it is not a shell script).
domain=$(sed -n 's/^DOMAIN=//p' "$env_file" | tail -n 1)
domain=${domain:-sho.localhost}

if [ -s "$crt" ] && [ -s "$key" ] && [ "${1:-}" != "--force" ]; then
  echo "generate-local-cert.sh: $(pwd)/$crt exists (use --force to replace it)"
  exit 0
fi
mkdir -p "$out"
chmod 700 "$out"
umask 022

if command -v mkcert >/dev/null; then
  mkcert -cert-file "$crt" -key-file "$key" "$domain" "*.$domain"
else
  command -v openssl >/dev/null || { echo "generate-local-cert.sh: needs mkcert or openssl" >&2; exit 1; }
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj "/CN=$domain" \
    -addext "subjectAltName=DNS:$domain,DNS:*.$domain" \
    -addext "keyUsage=critical,digitalSignature" \
    -addext "extendedKeyUsage=serverAuth" \
    -keyout "$key" -out "$crt" 2>/dev/null
fi
# Readable by Traefik's non-root user through the secret bind mount; certs/ (0700) guards the host.
chmod 644 "$crt" "$key"
echo "generate-local-cert.sh: wrote $(pwd)/$crt for $domain and *.$domain"
openssl x509 -in "$crt" -noout -subject -enddate 2>/dev/null || true
