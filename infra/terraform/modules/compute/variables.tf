variable "name" {
  type        = string
  description = "Name of the VM and prefix of its resources."
}

variable "size" {
  type        = string
  description = "Provider-neutral size: small (2 vCPU, 4 GiB), medium (2 vCPU, 8 GiB, the sized default) or large (4 vCPU, 16 GiB). Another provider's module maps the same names to its own plans."
  default     = "medium"

  validation {
    condition     = contains(["small", "medium", "large"], var.size)
    error_message = "size must be small, medium or large."
  }
}

variable "architecture" {
  type        = string
  description = "CPU architecture of the image and instance family: x86_64 or arm64 (Graviton, cheaper)."
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "availability_zone" {
  type        = string
  description = "Zone of the VM and its data volume (the network module's subnet zone)."
}

variable "subnet_id" {
  type        = string
  description = "Subnet the VM is placed in."
}

variable "security_group_ids" {
  type        = list(string)
  description = "Security groups of the VM (the network module's)."
}

variable "enable_ipv6" {
  type        = bool
  description = "Give the VM a public IPv6 address (the subnet must have an IPv6 range)."
  default     = true
}

variable "admin_ssh_public_key" {
  type        = string
  description = "Operator public key registered as the instance key pair (the default sudo user's)."

  validation {
    condition     = can(regex("^(ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa) [A-Za-z0-9+/=]+", var.admin_ssh_public_key))
    error_message = "admin_ssh_public_key must be an OpenSSH public key."
  }
}

variable "user_data" {
  type        = string
  description = "cloud-init document (the cloud-init module's user_data)."
}

variable "root_volume_size_gb" {
  type        = number
  description = "Size of the system disk: OS, images, container logs."
  default     = 30

  validation {
    condition     = var.root_volume_size_gb >= 20
    error_message = "root_volume_size_gb must be at least 20."
  }
}

variable "data_volume_size_gb" {
  type        = number
  description = "Size of the separate data volume: PostgreSQL, Redis, ACME state and the local backup repository. It survives VM replacement."
  default     = 50

  validation {
    condition     = var.data_volume_size_gb >= 10 && var.data_volume_size_gb <= 16384
    error_message = "data_volume_size_gb must be between 10 and 16384."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
