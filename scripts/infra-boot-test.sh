#!/usr/bin/env bash
# `make infra-boot-test` (root; not part of `make test`: a few minutes the first time): applies the
# cloud-init user-data of infra/terraform/modules/cloud-init, rendered by terraform, to a Debian 13
# (trixie) root filesystem the way a first boot does, and asserts the result. It prints
# "N passed, N failed".
#   - cloud-init's init stage (users, groups, SSH keys, ssh_pwauth, disable_root) from the NoCloud-less
#     "None" datasource carrying the user-data, then the deferred write_files and the runcmd script;
#   - the runcmd script (shortener-host-setup) for real on a loop device standing in for the data
#     volume: format, mount by label, bind Docker's volumes, directories, firewall check, services
#     enabled; run twice to prove it keeps existing data and does not duplicate fstab lines;
#   - sshd's effective configuration (sshd -T) and the firewall loaded by the kernel in a throwaway
#     network namespace (never the host's).
# Everything runs in private mount, network, UTS and IPC namespaces; systemd is not running in a chroot, so
# `systemctl start/restart/reload` are no-ops there (enable works), and packages come preinstalled
# in the cached root filesystem instead of from the package module.
# Environment: INFRA_BOOT_CACHE (default /var/cache/shortener-infra-boot), INFRA_BOOT_MIRROR,
# INFRA_BOOT_KEEP=1 (keep the root filesystem and logs for a look).
# Usage: scripts/infra-boot-test.sh [--clean]
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "infra-boot-test: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, loop devices, namespaces)"
cache=${INFRA_BOOT_CACHE:-/var/cache/shortener-infra-boot}
base_tar=$cache/trixie-cloud-init.tar
if [ "${1:-}" = --clean ]; then rm -rf "$cache"; echo "removed $cache"; exit 0; fi
for tool in debootstrap terraform unshare losetup chroot; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install debootstrap util-linux coreutils; terraform 1.11+)"
done

mkdir -p "$cache"
if [ ! -s "$base_tar" ]; then
  mirror=${INFRA_BOOT_MIRROR:-http://deb.debian.org/debian}
  echo "debootstrap trixie with cloud-init and the packages the user-data installs (once; cached as $base_tar)"
  rootfs=$cache/rootfs.partial
  rm -rf "$rootfs"
  # The user-data's packages, preinstalled: a chroot has no systemd to start them, and this keeps
  # the test independent of the package mirror after the first run. python3-cffi-backend is named
  # because debootstrap does not resolve the virtual package python3-cryptography needs.
  debootstrap --variant=minbase \
    --include=cloud-init,python3-cffi-backend,openssh-server,nftables,sudo,e2fsprogs,util-linux,systemd,docker.io,docker-compose,unattended-upgrades,apt-listchanges \
    trixie "$rootfs" "$mirror" > "$cache/debootstrap.log" 2>&1 || { tail -n 20 "$cache/debootstrap.log"; die "debootstrap failed"; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar --numeric-owner --xattrs -C "$rootfs" -cf "$base_tar.partial" . && mv "$base_tar.partial" "$base_tar"
  rm -rf "$rootfs"
fi

work=$(mktemp -d /var/tmp/infra-boot.XXXXXX)
loop=
cleanup() {
  [ -n "$loop" ] && losetup -d "$loop" 2>/dev/null
  if [ "${INFRA_BOOT_KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

root=$work/root
mkdir "$root"
tar --numeric-owner --xattrs -C "$root" -xf "$base_tar"
truncate -s 256M "$work/data.img"
loop=$(losetup --find --show "$work/data.img")

# Render the user-data with terraform (the module needs no provider), for this loop device.
: > "$work/terraformrc"
cp -r infra/tests/cloud-init-render "$work/render"
sed -i "s#../../terraform/modules/cloud-init#$PWD/infra/terraform/modules/cloud-init#" "$work/render/main.tf"
(
  cd "$work/render"
  export TF_CLI_CONFIG_FILE=$work/terraformrc TF_IN_AUTOMATION=1
  terraform init -backend=false -input=false -no-color >/dev/null
  terraform apply -auto-approve -input=false -no-color -var "data_device=$loop" >/dev/null
  terraform output -raw user_data > "$work/user-data.yaml"
)

# The "None" datasource hands cloud-init this user-data as if the cloud had served it. Network
# configuration is the cloud's business (and a minbase chroot has no renderer for it): off.
{
  echo "network: { config: disabled }"
  echo "datasource_list: [ None ]"
  echo "datasource:"
  echo "  None:"
  echo "    userdata_raw: |"
  sed 's/^/      /' "$work/user-data.yaml"
} > "$root/etc/cloud/cloud.cfg.d/99-infra-boot-test.cfg"

# Private mount, network, UTS and IPC namespaces: nothing mounted, loaded or renamed here (cloud-init
# sets the host name) reaches the host.
unshare --mount --propagation private --net --uts --ipc -- bash -euo pipefail -s "$root" "$loop" > "$work/boot.log" 2>&1 <<'EOF' || boot_status=$?
root=$1 loop=$2
mount --bind /proc "$root/proc"; mount --bind /sys "$root/sys"; mount --bind /dev "$root/dev"
mount -t tmpfs tmpfs "$root/run"
# systemd creates sshd's privilege separation directory when it starts ssh.service.
mkdir -p "$root/run/sshd"
# No systemd runs in the chroot: SYSTEMD_OFFLINE makes systemctl enable units and skip
# start/stop/restart/reload, as it does in an image build.
in_root() { SYSTEMD_OFFLINE=1 chroot "$root" "$@"; }
in_root cloud-init init
in_root cloud-init modules --mode config
in_root cloud-init single --name write_files_deferred --frequency always
# First boot runs the runcmd script once; run it a second time to prove it is idempotent.
in_root /var/lib/cloud/instance/scripts/runcmd
echo keep > "$root/srv/data/marker"
in_root umount /var/lib/docker/volumes; in_root umount /srv/data
in_root /var/lib/cloud/instance/scripts/runcmd
# Snapshots for the assertions outside the namespace.
out=$root/var/tmp/boot-test
mkdir -p "$out"
in_root sshd -T -C user=deploy,host=test,addr=198.51.100.7 > "$out/sshd-T"
findmnt -rno TARGET,SOURCE,FSTYPE | sed "s#^$root##" > "$out/mounts"
blkid -o value -s LABEL "$loop" > "$out/label"
for unit in nftables docker unattended-upgrades; do
  echo "$unit $(in_root systemctl is-enabled "$unit.service" 2>/dev/null || true)"
done > "$out/enabled"
nft -f "$root/etc/nftables.conf"
nft -f "$root/etc/nftables.conf"  # reloading replaces the table instead of failing or duplicating
nft list table inet shortener_host > "$out/ruleset"
# The data volume is mounted only in this namespace: look at it from here.
cat "$root/srv/data/marker" > "$out/marker"
in_root stat -c '%n %U %a' /srv/shortener /srv/shortener/secrets /srv/data/backups > "$out/directories"
EOF
boot_status=${boot_status:-0}

passed=0
failed=0
check() {
  local name=$1; shift
  if "$@" > /dev/null 2>&1; then passed=$((passed + 1)); echo "ok   $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}
out=$root/var/tmp/boot-test
check "cloud-init stages and the runcmd script (twice) succeed" test "$boot_status" -eq 0
[ "$boot_status" -eq 0 ] || tail -n 40 "$work/boot.log"
check "cloud-init logged no error or traceback" bash -c "! grep -E ' - [a-z_.]+\\.py\\[(ERROR|CRITICAL)\\]|Traceback' '$root/var/log/cloud-init.log'"
check "deploy user exists with a locked password" bash -c "chroot '$root' passwd -S deploy | awk '{exit \$2 != \"L\"}'"
check "deploy user is in the docker group and not in sudo" bash -c "id=\$(chroot '$root' id -nG deploy); [[ \" \$id \" == *' docker '* && \" \$id \" != *' sudo '* ]]"
check "deploy user has exactly the deploy key" bash -c "grep -qx 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIODeployKeyForTestsOnly000000000000000000 deploy@test' '$root/home/deploy/.ssh/authorized_keys' && [ \$(wc -l < '$root/home/deploy/.ssh/authorized_keys') -eq 1 ]"
check "the default sudo user has the operator key" bash -c "grep -rlq 'AdminKeyForTestsOnly' '$root'/home/*/.ssh/authorized_keys && ! grep -q AdminKeyForTestsOnly '$root/home/deploy/.ssh/authorized_keys'"
check "root cannot log in with a key (disable_root)" bash -c "! grep -sq 'AdminKeyForTestsOnly' '$root/root/.ssh/authorized_keys' || grep -q 'no-port-forwarding.*Please login as' '$root/root/.ssh/authorized_keys'"
for setting in "permitrootlogin no" "passwordauthentication no" "kbdinteractiveauthentication no" "authenticationmethods publickey" "x11forwarding no" "allowtcpforwarding no"; do
  check "sshd effective config: $setting" grep -qx "$setting" "$out/sshd-T"
done
check "data volume formatted with the shortener-data label" grep -qx shortener-data "$out/label"
check "data volume mounted at /srv/data" grep -q '^/srv/data ' "$out/mounts"
check "Docker's volumes bind-mounted from the data volume" grep -q '^/var/lib/docker/volumes ' "$out/mounts"
check "data kept across a second run (not reformatted)" grep -qx keep "$out/marker"
check "fstab lines not duplicated by the second run" bash -c "[ \$(grep -c 'LABEL=shortener-data' '$root/etc/fstab') -eq 1 ] && [ \$(grep -c ' /var/lib/docker/volumes ' '$root/etc/fstab') -eq 1 ]"
check "/srv/shortener and its secrets/ belong to deploy, mode 750" bash -c "grep -qx '/srv/shortener deploy 750' '$out/directories' && grep -qx '/srv/shortener/secrets deploy 750' '$out/directories'"
check "backup directory on the data volume, root only, mode 750" grep -qx '/srv/data/backups root 750' "$out/directories"
for unit in nftables docker unattended-upgrades; do
  check "$unit enabled" grep -qx "$unit enabled" "$out/enabled"
done
check "unattended upgrades configured" grep -q 'APT::Periodic::Unattended-Upgrade "1";' "$root/etc/apt/apt.conf.d/20auto-upgrades"
check "firewall loads in the kernel with the allow-lists" bash -c "grep -q '198.51.100.0/24' '$out/ruleset' && grep -q '173.245.48.0/20' '$out/ruleset' && grep -q 'policy drop' '$out/ruleset'"

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
