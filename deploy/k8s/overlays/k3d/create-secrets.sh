#!/usr/bin/env bash
# Creates the Secrets the k3d overlay references, in the cluster of the current kubectl context,
# with fresh random values; nothing is written to disk. Idempotent: an existing Secret is kept.
#   postgres-app       password (PostgreSQL's role), pgpass (the same, as a libpq passfile line)
#   redis-auth         password (services and KEDA), acl (Redis ACL file: only its SHA-256)
#   api-bootstrap-key  api-key (the API's first admin key)
#   shortener-tls      a self-signed certificate for sho.localhost and *.sho.localhost
#   pgbackrest-secrets secrets.conf: repo1's cipher pass (lose it and every backup is unreadable:
#                      keep a copy outside the cluster, e.g. `kubectl get secret ... -o yaml` into a vault)
#   pgbackrest-tls     a CA, the TLS server certificate of postgres-0 (ca.crt, server.crt/key) and the
#                      backup CronJobs' client certificate, CN pgbackrest-backup (client.crt/key)
# Usage: deploy/k8s/overlays/k3d/create-secrets.sh [namespace]
set -euo pipefail
namespace=${1:-shortener}
command -v openssl >/dev/null || { echo "create-secrets.sh: openssl is required" >&2; exit 1; }
command -v kubectl >/dev/null || { echo "create-secrets.sh: kubectl is required" >&2; exit 1; }

random() { openssl rand -base64 48 | tr -d '/+=\n' | cut -c "1-$1"; }
exists() { kubectl -n "$namespace" get secret "$1" >/dev/null 2>&1; }
# Key material is made here and removed on exit, whichever blocks run.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

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
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=sho.localhost" -addext "subjectAltName=DNS:sho.localhost,DNS:*.sho.localhost" \
    -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
  kubectl -n "$namespace" create secret tls shortener-tls --cert="$work/tls.crt" --key="$work/tls.key"
fi
if ! exists pgbackrest-secrets; then
  # The same file as compose's pgbackrest_secrets (init-secrets.sh), without repo2 (no S3 in k3d).
  kubectl -n "$namespace" create secret generic pgbackrest-secrets \
    --from-literal=secrets.conf="$(printf '[global]\nrepo1-cipher-pass=%s\n' "$(random 64)")"
fi

if ! exists pgbackrest-tls; then
  ec() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "$@" 2>/dev/null; }
  ec -x509 -days 3650 -subj "/CN=shortener pgBackRest CA" -keyout "$work/ca.key" -out "$work/ca.crt"
  ec -subj "/CN=postgres-0.postgres" -keyout "$work/server.key" -out "$work/server.csr"
  ec -subj "/CN=pgbackrest-backup" -keyout "$work/client.key" -out "$work/client.csr"
  sign() {
    openssl x509 -req -in "$work/$1.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
      -days 825 -out "$work/$1.crt" -extfile <(printf '%s\n' "$2") 2>/dev/null
  }
  # pgBackRest checks the server's name against pg1-host (postgres-0.postgres) and the client's CN
  # against tls-server-auth (pgbackrest-backup=shortener).
  sign server "subjectAltName=DNS:postgres-0.postgres,DNS:postgres-0.postgres.$namespace.svc,DNS:postgres-0.postgres.$namespace.svc.cluster.local
extendedKeyUsage=serverAuth"
  sign client "extendedKeyUsage=clientAuth"
  kubectl -n "$namespace" create secret generic pgbackrest-tls \
    --from-file=ca.crt="$work/ca.crt" \
    --from-file=server.crt="$work/server.crt" --from-file=server.key="$work/server.key" \
    --from-file=client.crt="$work/client.crt" --from-file=client.key="$work/client.key"
fi
echo "Secrets ready in namespace $namespace"
