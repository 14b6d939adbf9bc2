#!/usr/bin/env bash
# Creates the Secrets the k3d overlay references, in the cluster of the current kubectl context,
# with fresh random values; nothing is written to disk. Idempotent: an existing Secret is kept.
#   postgres-app       password (PostgreSQL's role), pgpass (the same, as a libpq passfile line)
#   redis-auth         password (services and KEDA), acl (Redis ACL file: only its SHA-256)
#   api-bootstrap-key  api-key (the API's first admin key)
#   shortener-tls      a self-signed certificate for sho.localhost and *.sho.localhost
# Usage: deploy/k8s/overlays/k3d/create-secrets.sh [namespace]
set -euo pipefail
namespace=${1:-shortener}
command -v openssl >/dev/null || { echo "create-secrets.sh: openssl is required" >&2; exit 1; }
command -v kubectl >/dev/null || { echo "create-secrets.sh: kubectl is required" >&2; exit 1; }

random() { openssl rand -base64 48 | tr -d '/+=\n' | cut -c "1-$1"; }
exists() { kubectl -n "$namespace" get secret "$1" >/dev/null 2>&1; }

kubectl get namespace "$namespace" >/dev/null 2>&1 || kubectl create namespace "$namespace"

if ! exists postgres-app; then
  password=$(random 40)
  kubectl -n "$namespace" create secret generic postgres-app \
    --from-literal=password="$password" \
    --from-literal=pgpass="*:*:*:shortener:$password"
fi

if ! exists redis-auth; then
  password=$(random 40)
  sha=$(printf '%s' "$password" | openssl dgst -sha256 -r | cut -d' ' -f1)
  kubectl -n "$namespace" create secret generic redis-auth \
    --from-literal=password="$password" \
    --from-literal=acl="user default on #$sha ~* &* +@all"
fi

if ! exists api-bootstrap-key; then
  kubectl -n "$namespace" create secret generic api-bootstrap-key --from-literal=api-key="$(random 48)"
fi

if ! exists shortener-tls; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=sho.localhost" -addext "subjectAltName=DNS:sho.localhost,DNS:*.sho.localhost" \
    -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
  kubectl -n "$namespace" create secret tls shortener-tls --cert="$work/tls.crt" --key="$work/tls.key"
fi
echo "Secrets ready in namespace $namespace"
