output "user_data" {
  description = "The #cloud-config document to pass to the VM as user data."
  value       = local.user_data
}

output "nftables_conf" {
  description = "The host firewall it installs (for tests and review)."
  value       = local.nftables_conf
}
