output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "subnet_id" {
  description = "ID of the public subnet the VM goes in."
  value       = aws_subnet.public.id
}

output "security_group_id" {
  description = "ID of the VM's security group."
  value       = aws_security_group.vm.id
}

output "firewall" {
  description = "The ports and ranges the security group opens, for the host firewall (cloud-init) to mirror."
  value = {
    ssh_allowed_cidrs      = var.ssh_allowed_cidrs
    web_allowed_ipv4_cidrs = var.web_allowed_ipv4_cidrs
    web_allowed_ipv6_cidrs = var.enable_ipv6 ? var.web_allowed_ipv6_cidrs : []
  }
}
