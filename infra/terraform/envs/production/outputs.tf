output "public_ipv4" {
  description = "Origin IPv4 (reachable on 80/443 only from Cloudflare, on 22 from the allow-list)."
  value       = module.compute.public_ipv4
}

output "ssh_host" {
  description = "DNS-only name to SSH to."
  value       = "ssh.${var.zone_name}"
}

output "instance_type" {
  description = "Instance type chosen for the size."
  value       = module.compute.instance_type
}

output "dns_records" {
  description = "Records created in Cloudflare."
  value       = module.dns.records
}
