#!/usr/bin/env bash
# Checks what `make run` / `make test` need, and installs what is missing when it can
# (root on Debian/Ubuntu); otherwise prints the exact command to run.
# Usage: scripts/prerequisites.sh [run|test]
set -euo pipefail
purpose=${1:-run}

missing=()
have() { command -v "$1" >/dev/null 2>&1; }
ls -d /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
have redis-server || missing+=(redis-server)
have redis-cli || missing+=(redis-tools)
have setpriv || missing+=(util-linux)
have curl || missing+=(curl)
# Backups: WAL archiving in `make run`, make backup/restore, and the restore drill in `make test`.
have pgbackrest || missing+=(pgbackrest)
# Prometheus, Alertmanager and the exporters: started by `make run`, checked by `make test`.
have prometheus || missing+=(prometheus)
have prometheus-alertmanager || missing+=(prometheus-alertmanager)
for exporter in prometheus-node-exporter prometheus-blackbox-exporter prometheus-redis-exporter prometheus-postgres-exporter; do
  have "$exporter" || missing+=("$exporter")
done
if [ "$purpose" = test ]; then
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

if [ "$purpose" = test ] || [ "$purpose" = image-test ]; then
  # Container image test: podman (with runc) builds and runs apps/Dockerfile; debootstrap builds the base.
  have podman || missing+=(podman)
  have runc || missing+=(runc)
  have debootstrap || missing+=(debootstrap)
fi

if ! have dotnet; then
  echo "The .NET 10 SDK is required: https://learn.microsoft.com/dotnet/core/install/linux" >&2
  exit 1
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

command="apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" = 0 ] && have apt-get; then
  echo "Installing for '$purpose': ${missing[*]}"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $command >/dev/null
  # Debian starts nothing by itself here, but on a normal host the packaged services would run: we use our own.
  exit 0
fi

echo "Missing packages for '$purpose': ${missing[*]}" >&2
echo "Install them with:  sudo $command" >&2
exit 1
