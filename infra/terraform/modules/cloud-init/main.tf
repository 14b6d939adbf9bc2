# The VM's first-boot configuration as one #cloud-config document. It is built as an object and
# serialised with yamlencode, so it is valid YAML whatever the inputs contain.
locals {
  nftables_conf = templatefile("${path.module}/files/nftables.conf.tftpl", {
    web_ipv4 = var.web_allowed_ipv4_cidrs
    web_ipv6 = var.web_allowed_ipv6_cidrs
    ssh_ipv4 = [for c in var.ssh_allowed_cidrs : c if !strcontains(c, ":")]
    ssh_ipv6 = [for c in var.ssh_allowed_cidrs : c if strcontains(c, ":")]
  })

  cloud_config = {
    hostname = var.hostname

    # The docker group must exist before the deploy user is created (users run before packages).
    groups = ["docker"]
    users = [
      "default",
      {
        name                = var.deploy_user
        gecos               = "Shortener deploy (CI)"
        shell               = "/bin/bash"
        groups              = ["docker"]
        lock_passwd         = true
        ssh_authorized_keys = var.deploy_ssh_public_keys
      },
    ]
    ssh_authorized_keys = var.admin_ssh_public_keys
    disable_root        = true
    ssh_pwauth          = false

    package_update  = true
    package_upgrade = true
    # Debian's own Docker Engine and compose v2 plugin (no third-party apt repository to trust).
    packages = ["docker.io", "docker-compose", "nftables", "unattended-upgrades", "apt-listchanges"]

    # Deferred: written after the packages are installed, so no package overwrites or prompts about them.
    write_files = [
      {
        path        = "/etc/ssh/sshd_config.d/10-shortener.conf"
        permissions = "0644"
        defer       = true
        content     = <<-EOT
          # Keys only, no root: cloud-init sets the same, this keeps it if sshd_config changes.
          PermitRootLogin no
          PasswordAuthentication no
          KbdInteractiveAuthentication no
          PubkeyAuthentication yes
          AuthenticationMethods publickey
          X11Forwarding no
          AllowAgentForwarding no
          AllowTcpForwarding no
          MaxAuthTries 3
          LoginGraceTime 30
        EOT
      },
      {
        path        = "/etc/apt/apt.conf.d/20auto-upgrades"
        permissions = "0644"
        defer       = true
        content     = <<-EOT
          APT::Periodic::Update-Package-Lists "1";
          APT::Periodic::Unattended-Upgrade "1";
          APT::Periodic::AutocleanInterval "7";
        EOT
      },
      {
        path        = "/etc/docker/daemon.json"
        permissions = "0644"
        defer       = true
        content = jsonencode({
          "log-driver"        = "local"
          "log-opts"          = { "max-size" = "20m", "max-file" = "5" }
          "live-restore"      = true
          "no-new-privileges" = true
        })
      },
      {
        path        = "/etc/nftables.conf"
        permissions = "0600"
        defer       = true
        content     = local.nftables_conf
      },
      {
        path        = "/usr/local/sbin/shortener-host-setup"
        permissions = "0755"
        defer       = true
        content     = file("${path.module}/files/host-setup.sh")
      },
    ]

    runcmd = [
      ["/usr/local/sbin/shortener-host-setup", var.data_device, var.data_mount, var.stack_dir, var.deploy_user],
    ]
  }

  user_data = "#cloud-config\n${yamlencode(local.cloud_config)}"
}
