variable "region" {
  type        = string
  description = "AWS region of the VM."
  default     = "eu-central-1"
}

variable "availability_zone" {
  type        = string
  description = "Zone of the subnet, the VM and its data volume."
  default     = "eu-central-1a"
}

variable "zone_name" {
  type        = string
  description = "Cloudflare zone the service is published under (short links on its apex, the API on api.<zone>)."
}

variable "size" {
  type        = string
  description = "VM size: small, medium (2 vCPU, 8 GiB, sized from the benchmarks) or large."
  default     = "medium"
}

variable "data_volume_size_gb" {
  type        = number
  description = "Size of the data volume (PostgreSQL, Redis, backups)."
  default     = 50
}

variable "ssh_allowed_cidrs" {
  type        = list(string)
  description = "Ranges allowed to reach SSH (operators, the deploy runner)."
}

variable "admin_ssh_public_key" {
  type        = string
  description = "Operator public key (the instance key pair)."
}

variable "deploy_ssh_public_keys" {
  type        = list(string)
  description = "Public keys of the deploy user (the CI deploy key)."
}
