#!/usr/bin/env bash
# Runs once from cloud-init (runcmd), after the packages are installed; safe to run again.
# Usage: host-setup.sh DATA_DEVICE DATA_MOUNT STACK_DIR DEPLOY_USER
#   DATA_DEVICE  the data volume (may appear after boot: EBS attaches it asynchronously)
#   DATA_MOUNT   where it is mounted; Docker's named volumes (PostgreSQL, Redis, ACME) and the
#                backup repository live there, so replacing the VM keeps them
#   STACK_DIR    the directory the deploy user puts the compose files in
set -euo pipefail

data_device=$1 data_mount=$2 stack_dir=$3 deploy_user=$4
label=shortener-data

wait_for_device() {
  for _ in $(seq 1 "${DEVICE_WAIT_SECONDS:-300}"); do
    [ -b "$data_device" ] && return 0
    sleep 1
  done
  echo "host-setup: $data_device did not appear; is the data volume attached?" >&2
  return 1
}

add_fstab_line() {
  grep -qF -- "$1" /etc/fstab || echo "$1" >> /etc/fstab
}

wait_for_device
# Never format a disk that already carries a filesystem: it holds the previous VM's data.
if ! blkid -p "$data_device" >/dev/null 2>&1; then
  mkfs.ext4 -q -L "$label" "$data_device"
fi
install -d -m 0755 "$data_mount"
add_fstab_line "LABEL=$label $data_mount ext4 defaults,nofail,x-systemd.device-timeout=30s 0 2"
mountpoint -q "$data_mount" || mount "$data_mount"

install -d -m 0710 "$data_mount/docker-volumes"
install -d -m 0750 "$data_mount/backups"
install -d -m 0750 -o "$deploy_user" -g "$deploy_user" "$stack_dir" "$stack_dir/secrets"

# Docker started when its package was installed: move its named volumes onto the data disk.
systemctl stop docker.socket docker.service || true
install -d -m 0710 /var/lib/docker/volumes
add_fstab_line "$data_mount/docker-volumes /var/lib/docker/volumes none bind,nofail,x-systemd.requires-mounts-for=$data_mount 0 0"
mountpoint -q /var/lib/docker/volumes || mount /var/lib/docker/volumes

# Host firewall first (it mirrors the cloud firewall), then SSH hardening, then the services.
nft -c -f /etc/nftables.conf
systemctl enable nftables.service
systemctl restart nftables.service
sshd -t
systemctl reload ssh.service
systemctl enable docker.service unattended-upgrades.service
systemctl start docker.service unattended-upgrades.service
