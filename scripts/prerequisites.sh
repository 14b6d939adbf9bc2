#!/usr/bin/env bash
# The one place that checks what an entry point needs and installs what is missing when it can
# (root on Debian/Ubuntu); otherwise prints the exact command to run. Every entry point calls it:
#   run (make run, the default)  test (make test)  image-test  bench  gameday  observability
# Usage: scripts/prerequisites.sh [PURPOSE]
set -euo pipefail
purpose=${1:-run}
case "$purpose" in run | test | image-test | bench | gameday | observability) ;; *)
  echo "prerequisites.sh: unknown purpose '$purpose'" >&2
  exit 2
  ;;
esac
needs() { for p in "$@"; do [ "$purpose" = "$p" ] && return 0; done; return 1; }

missing=()
have() { command -v "$1" >/dev/null 2>&1; }
if ! needs observability; then
  ls -d /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
  have redis-server || missing+=(redis-server)
  have redis-cli || missing+=(redis-tools)
  have setpriv || missing+=(util-linux)
  have curl || missing+=(curl)
fi
# Backups: WAL archiving in `make run`, make backup/restore, and the restore drill in `make test`.
if needs run test; then have pgbackrest || missing+=(pgbackrest); fi
# Prometheus, Alertmanager and the exporters: started by `make run` and the game day, checked by `make test`.
if needs run test gameday observability; then
  have prometheus || missing+=(prometheus)
  { have prometheus-alertmanager && have amtool; } || missing+=(prometheus-alertmanager)
fi
if needs run test gameday; then
  for exporter in prometheus-node-exporter prometheus-blackbox-exporter prometheus-redis-exporter prometheus-postgres-exporter; do
    have "$exporter" || missing+=("$exporter")
  done
fi
# The benchmark's load generator (the game day also drives traffic with it when present).
if needs bench; then have wrk || missing+=(wrk); fi
if needs test; then
  # Offline checks of the deployment configs.
  have yamllint || missing+=(yamllint)
  have shellcheck || missing+=(shellcheck)
  # Offline checks of infra/terraform: the rendered user-data and host firewall (cloud-init's
  # boot-time units find no datasource on a normal host and stay disabled).
  have cloud-init || missing+=(cloud-init)
  have nft || missing+=(nftables)
  # Deploy tool tests: production secrets are age-encrypted (issue 14).
  have age || missing+=(age)
  # The web console's browser tests (Playwright for .NET drives Debian's Chromium; it never downloads a browser).
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  if ! have node || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ] || ! have npm; then
    echo "Node.js 20 or later with npm is required for the deployment checks: https://nodejs.org/en/download" >&2
    exit 1
  fi
fi
if needs test image-test; then
  # Container image test: podman (with runc) builds and runs apps/Dockerfile; debootstrap builds the base.
  have podman || missing+=(podman)
  have runc || missing+=(runc)
  have debootstrap || missing+=(debootstrap)
fi

if ! needs observability && ! have dotnet; then
  echo "The .NET 10 SDK is required: https://learn.microsoft.com/dotnet/core/install/linux" >&2
  exit 1
fi
if needs test bench gameday observability && ! have python3; then
  echo "python3 is required (apt-get install python3)" >&2
  exit 1
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

command="apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" = 0 ] && have apt-get; then
  echo "Installing for '$purpose': ${missing[*]}"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  # Debian starts nothing by itself here, but on a normal host the packaged services would run: we use our own.
  DEBIAN_FRONTEND=noninteractive $command >/dev/null
  exit 0
fi

echo "Missing packages for '$purpose': ${missing[*]}" >&2
echo "Install them with:  sudo $command" >&2
exit 1
