locals {
  name = "shortener-production"
}

module "network" {
  source = "../../modules/network"

  name              = local.name
  availability_zone = var.availability_zone
  ssh_allowed_cidrs = var.ssh_allowed_cidrs
}

# Rendered with the data volume's device path from the compute module: Terraform resolves this per
# value (the path depends only on the volume, the VM on the user-data), so there is no cycle.
module "cloud_init" {
  source = "../../modules/cloud-init"

  hostname               = local.name
  admin_ssh_public_keys  = [var.admin_ssh_public_key]
  deploy_ssh_public_keys = var.deploy_ssh_public_keys
  data_device            = module.compute.data_device
  ssh_allowed_cidrs      = module.network.firewall.ssh_allowed_cidrs
  web_allowed_ipv4_cidrs = module.network.firewall.web_allowed_ipv4_cidrs
  web_allowed_ipv6_cidrs = module.network.firewall.web_allowed_ipv6_cidrs
}

module "compute" {
  source = "../../modules/compute"

  name                 = local.name
  size                 = var.size
  availability_zone    = var.availability_zone
  subnet_id            = module.network.subnet_id
  security_group_ids   = [module.network.security_group_id]
  admin_ssh_public_key = var.admin_ssh_public_key
  user_data            = module.cloud_init.user_data
  data_volume_size_gb  = var.data_volume_size_gb
}

module "dns" {
  source = "../../modules/dns"

  zone_name   = var.zone_name
  origin_ipv4 = module.compute.public_ipv4
  origin_ipv6 = module.compute.public_ipv6
}
