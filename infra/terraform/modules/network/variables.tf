variable "name" {
  type        = string
  description = "Prefix of every resource name and Name tag (e.g. shortener-production)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be 2-31 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "vpc_cidr" {
  type        = string
  description = "IPv4 range of the VPC; the public subnet takes its first /24."
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr))
    error_message = "vpc_cidr must be an IPv4 CIDR block."
  }
}

variable "availability_zone" {
  type        = string
  description = "Availability zone of the subnet (the VM and its data volume must live in the same one)."
}

variable "enable_ipv6" {
  type        = bool
  description = "Give the VPC an Amazon IPv6 /56 and the subnet a /64, so the VM gets a public IPv6 address (AAAA record)."
  default     = true
}

variable "ssh_allowed_cidrs" {
  type        = list(string)
  description = "Addresses allowed to reach SSH (22): operators' and the deploy runner's ranges. Never the whole internet."

  validation {
    condition     = length(var.ssh_allowed_cidrs) > 0 && alltrue([for c in var.ssh_allowed_cidrs : can(cidrhost(c, 0))])
    error_message = "ssh_allowed_cidrs must be a non-empty list of CIDR blocks."
  }

  validation {
    condition     = !anytrue([for c in var.ssh_allowed_cidrs : endswith(c, "/0")])
    error_message = "ssh_allowed_cidrs must not contain 0.0.0.0/0 or ::/0: SSH is only for an allow-list."
  }
}

variable "web_allowed_ipv4_cidrs" {
  type        = list(string)
  description = "IPv4 ranges allowed to reach 80/443: Cloudflare's published ranges, since every public record is proxied. Refresh from https://www.cloudflare.com/ips-v4 (or the cloudflare_ip_ranges data source)."
  default = [
    "173.245.48.0/20",
    "103.21.244.0/22",
    "103.22.200.0/22",
    "103.31.4.0/22",
    "141.101.64.0/18",
    "108.162.192.0/18",
    "190.93.240.0/20",
    "188.114.96.0/20",
    "197.234.240.0/22",
    "198.41.128.0/17",
    "162.158.0.0/15",
    "104.16.0.0/13",
    "104.24.0.0/14",
    "172.64.0.0/13",
    "131.0.72.0/22",
  ]

  validation {
    condition     = alltrue([for c in var.web_allowed_ipv4_cidrs : can(cidrnetmask(c)) && !endswith(c, "/0")])
    error_message = "web_allowed_ipv4_cidrs must be IPv4 CIDR blocks narrower than /0 (the origin is reachable only through Cloudflare)."
  }
}

variable "web_allowed_ipv6_cidrs" {
  type        = list(string)
  description = "IPv6 ranges allowed to reach 80/443: Cloudflare's published ranges. Refresh from https://www.cloudflare.com/ips-v6."
  default = [
    "2400:cb00::/32",
    "2606:4700::/32",
    "2803:f800::/32",
    "2405:b500::/32",
    "2405:8100::/32",
    "2a06:98c0::/29",
    "2c0f:f248::/32",
  ]

  validation {
    condition     = alltrue([for c in var.web_allowed_ipv6_cidrs : can(cidrhost(c, 0)) && strcontains(c, ":") && !endswith(c, "/0")])
    error_message = "web_allowed_ipv6_cidrs must be IPv6 CIDR blocks narrower than /0."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
