variable "hostname" {
  type        = string
  description = "Host name of the VM."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,62}$", var.hostname))
    error_message = "hostname must be a lowercase DNS label."
  }
}

variable "admin_ssh_public_keys" {
  type        = list(string)
  description = "Public keys of the operators, for the distribution's default sudo user (admin on Debian)."

  validation {
    condition     = length(var.admin_ssh_public_keys) > 0 && alltrue([for k in var.admin_ssh_public_keys : can(regex("^(ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa) [A-Za-z0-9+/=]+", k))])
    error_message = "admin_ssh_public_keys must hold at least one OpenSSH public key."
  }
}

variable "deploy_user" {
  type        = string
  description = "Unprivileged user the deploy workflow logs in as (no sudo, no password; member of the docker group)."
  default     = "deploy"
}

variable "deploy_ssh_public_keys" {
  type        = list(string)
  description = "Public keys allowed to log in as the deploy user (the CI deploy key)."

  validation {
    condition     = alltrue([for k in var.deploy_ssh_public_keys : can(regex("^(ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa) [A-Za-z0-9+/=]+", k))])
    error_message = "deploy_ssh_public_keys must be OpenSSH public keys."
  }
}

variable "data_device" {
  type        = string
  description = "Block device of the data volume as the VM sees it (a stable /dev/disk/by-id path)."
}

variable "data_mount" {
  type        = string
  description = "Mount point of the data volume: Docker's named volumes (PostgreSQL, Redis, ACME) and the backup repository."
  default     = "/srv/data"
}

variable "stack_dir" {
  type        = string
  description = "Directory the deploy user keeps the compose stack in."
  default     = "/srv/shortener"
}

variable "ssh_allowed_cidrs" {
  type        = list(string)
  description = "Ranges the host firewall lets reach SSH; the network module's allow-list."
}

variable "web_allowed_ipv4_cidrs" {
  type        = list(string)
  description = "IPv4 ranges the host firewall lets reach 80/443 (Cloudflare's)."
}

variable "web_allowed_ipv6_cidrs" {
  type        = list(string)
  description = "IPv6 ranges the host firewall lets reach 80/443 (Cloudflare's)."
}
