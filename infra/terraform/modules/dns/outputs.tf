output "zone_id" {
  description = "ID of the Cloudflare zone."
  value       = local.zone_id
}

output "records" {
  description = "Every record created: name, type, proxied."
  value       = { for k, r in cloudflare_dns_record.host : k => { name = r.name, type = r.type, proxied = r.proxied } }
}

output "api_rate_limit_ruleset_id" {
  description = "ID of the rate-limiting ruleset on the API host."
  value       = cloudflare_ruleset.api_rate_limit.id
}
