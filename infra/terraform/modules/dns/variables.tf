variable "zone_name" {
  type        = string
  description = "The Cloudflare zone (the registered domain), e.g. example.com. Short links are served on its apex."

  validation {
    condition     = can(regex("^([a-z0-9-]+\\.)+[a-z]{2,}$", var.zone_name))
    error_message = "zone_name must be a lowercase domain name."
  }
}

variable "origin_ipv4" {
  type        = string
  description = "Public IPv4 address of the VM (the compute module's public_ipv4)."
}

variable "origin_ipv6" {
  type        = string
  description = "Public IPv6 address of the VM, or null for no AAAA records."
  default     = null
}

variable "proxied_hosts" {
  type        = list(string)
  description = "Host labels served through Cloudflare's proxy (\"@\" is the apex). Matches Traefik's routers: the apex (redirects), api, grafana and the basic-auth admin UIs."
  default     = ["@", "api", "grafana", "traefik", "prometheus", "alertmanager"]
}

variable "dns_only_hosts" {
  type        = list(string)
  description = "Host labels that resolve to the VM without the proxy: ssh (Cloudflare proxies only HTTP). Traefik's DNS-01 challenge writes its own _acme-challenge TXT records through the API token."
  default     = ["ssh"]

  validation {
    condition     = !contains(var.dns_only_hosts, "@") && !contains(var.dns_only_hosts, "api")
    error_message = "The apex and api must stay proxied: they would otherwise expose the origin's address."
  }
}

variable "api_host" {
  type        = string
  description = "Label of the API host the rate-limiting rule protects."
  default     = "api"
}

variable "api_rate_limit" {
  type = object({
    requests_per_period = number
    period              = number
    mitigation_timeout  = number
  })
  description = "Requests per client IP (per Cloudflare data centre) allowed on the API host per period (seconds) before Cloudflare blocks it for mitigation_timeout seconds. The Free plan accepts period and mitigation_timeout of 10 only."
  default = {
    requests_per_period = 100
    period              = 10
    mitigation_timeout  = 10
  }

  validation {
    condition     = var.api_rate_limit.requests_per_period > 0 && contains([10, 60, 120, 300, 600, 3600], var.api_rate_limit.period)
    error_message = "api_rate_limit needs requests_per_period > 0 and a period Cloudflare accepts (10, 60, 120, 300, 600 or 3600)."
  }
}

variable "api_rate_limit_match_host" {
  type        = bool
  description = "Also match the API host name in the rate-limiting rule (needs the Pro plan or above; the Free plan matches the /api/ path only, which no short code contains)."
  default     = false
}

variable "hsts_max_age" {
  type        = number
  description = "HSTS max-age in seconds. Start low; raise to a year (31536000) once every host serves HTTPS."
  default     = 15552000
}
