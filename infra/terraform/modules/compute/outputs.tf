output "instance_id" {
  description = "ID of the VM."
  value       = aws_instance.vm.id
}

output "public_ipv4" {
  description = "Public IPv4 address of the VM (Elastic IP): the origin of the proxied A records."
  value       = aws_eip.vm.public_ip
}

output "public_ipv6" {
  description = "Public IPv6 address of the VM, or null when IPv6 is off: the origin of the AAAA records."
  value       = var.enable_ipv6 ? aws_instance.vm.ipv6_addresses[0] : null
}

output "instance_type" {
  description = "The instance type the size resolved to."
  value       = local.instance_type
}

output "data_volume_id" {
  description = "ID of the data volume (snapshot it before risky changes)."
  value       = aws_ebs_volume.data.id
}

output "data_device" {
  description = "Stable device path of the data volume inside the VM, for the cloud-init module (it depends only on the volume, not on the VM)."
  value       = local.data_device
}
