# Renders the cloud-init module offline (it uses no provider) with example inputs, so the checks can
# validate the user-data, lint its shell and parse its firewall (infra/tests/policy.test.mjs), and
# apply it to a Debian root filesystem (scripts/infra-boot-test.sh passes a loop device).
variable "data_device" {
  type        = string
  description = "Data volume path the user-data waits for."
  default     = "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0"
}

module "cloud_init" {
  source = "../../terraform/modules/cloud-init"

  hostname               = "shortener-test"
  admin_ssh_public_keys  = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOAdminKeyForTestsOnly0000000000000000000 admin@test"]
  deploy_ssh_public_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIODeployKeyForTestsOnly000000000000000000 deploy@test"]
  data_device            = var.data_device
  ssh_allowed_cidrs      = ["198.51.100.0/24", "2001:db8::/48"]
  web_allowed_ipv4_cidrs = ["173.245.48.0/20", "103.21.244.0/22"]
  web_allowed_ipv6_cidrs = ["2400:cb00::/32"]
}

output "user_data" {
  value = module.cloud_init.user_data
}

output "nftables_conf" {
  value = module.cloud_init.nftables_conf
}
