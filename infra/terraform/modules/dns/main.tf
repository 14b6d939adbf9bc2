# Cloudflare in front of the VM: zone TLS settings, proxied records for every HTTP host (the
# origin's address stays private and the security group admits only Cloudflare), DNS-only records
# for non-HTTP access, and a rate limit on the API host. Provider 5.x names (cloudflare_dns_record,
# cloudflare_zone_setting, nested attributes written `x = { ... }`).
data "cloudflare_zone" "this" {
  filter = {
    name = var.zone_name
  }
}

locals {
  zone_id = data.cloudflare_zone.this.id

  # Zone settings: Full (strict) makes Cloudflare verify the origin certificate (Traefik's ACME one).
  zone_settings = {
    ssl                      = "strict"
    always_use_https         = "on"
    min_tls_version          = "1.2"
    tls_1_3                  = "on"
    automatic_https_rewrites = "on"
  }

  hosts = { for h in concat(var.proxied_hosts, var.dns_only_hosts) : h => {
    name    = h == "@" ? var.zone_name : "${h}.${var.zone_name}"
    proxied = contains(var.proxied_hosts, h)
  } }
  families = merge(
    { A = var.origin_ipv4 },
    var.origin_ipv6 == null ? {} : { AAAA = var.origin_ipv6 },
  )
  records = merge([for host, h in local.hosts : {
    for type, address in local.families : "${host}-${type}" => merge(h, { type = type, content = address })
  }]...)

  api_fqdn = "${var.api_host}.${var.zone_name}"
  # The Free plan matches rate-limiting rules on the path only; Pro and above can add the host.
  api_rate_limit_expression = var.api_rate_limit_match_host ? "(http.host eq \"${local.api_fqdn}\" and http.request.uri.path contains \"/api/\")" : "(http.request.uri.path contains \"/api/\")"
}

resource "cloudflare_zone_setting" "this" {
  for_each = local.zone_settings

  zone_id    = local.zone_id
  setting_id = each.key
  value      = each.value
}

resource "cloudflare_zone_setting" "hsts" {
  zone_id    = local.zone_id
  setting_id = "security_header"
  value = {
    strict_transport_security = {
      enabled            = true
      max_age            = var.hsts_max_age
      include_subdomains = true
      nosniff            = true
      preload            = false
    }
  }
}

resource "cloudflare_dns_record" "host" {
  for_each = local.records

  zone_id = local.zone_id
  name    = each.value.name
  type    = each.value.type
  content = each.value.content
  proxied = each.value.proxied
  # 1 means automatic, the only TTL a proxied record takes.
  ttl     = each.value.proxied ? 1 : 300
  comment = each.value.proxied ? "Shortener origin, through the Cloudflare proxy (Terraform)" : "Shortener VM, DNS only (Terraform)"
}

resource "cloudflare_ruleset" "api_rate_limit" {
  zone_id     = local.zone_id
  name        = "Shortener API rate limit"
  description = "Blocks clients that exceed the API request rate (Terraform)"
  kind        = "zone"
  phase       = "http_ratelimit"

  rules = [{
    description = "Rate limit ${local.api_fqdn}"
    expression  = local.api_rate_limit_expression
    action      = "block"
    enabled     = true
    ratelimit = {
      characteristics     = ["cf.colo.id", "ip.src"]
      period              = var.api_rate_limit.period
      requests_per_period = var.api_rate_limit.requests_per_period
      mitigation_timeout  = var.api_rate_limit.mitigation_timeout
    }
  }]
}
