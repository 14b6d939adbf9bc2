# One public subnet in one zone: the stack is a single VM (ADR 0020). The security group is the
# only door: 80/443 from Cloudflare's ranges (every public record is proxied), 22 from an allow-list.
locals {
  tags = merge(var.tags, { Module = "network" })

  ssh_ipv4 = [for c in var.ssh_allowed_cidrs : c if !strcontains(c, ":")]
  ssh_ipv6 = [for c in var.ssh_allowed_cidrs : c if strcontains(c, ":")]

  # One rule per (port, range): the rule resources take a single CIDR each.
  web_ipv4 = { for pair in setproduct([80, 443], var.web_allowed_ipv4_cidrs) : "${pair[0]}-${pair[1]}" => { port = pair[0], cidr = pair[1] } }
  web_ipv6 = { for pair in setproduct([80, 443], var.enable_ipv6 ? var.web_allowed_ipv6_cidrs : []) : "${pair[0]}-${pair[1]}" => { port = pair[0], cidr = pair[1] } }
}

resource "aws_vpc" "this" {
  cidr_block                       = var.vpc_cidr
  assign_generated_ipv6_cidr_block = var.enable_ipv6
  enable_dns_support               = true
  enable_dns_hostnames             = true

  tags = merge(local.tags, { Name = var.name })
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(local.tags, { Name = var.name })
}

resource "aws_subnet" "public" {
  vpc_id                          = aws_vpc.this.id
  availability_zone               = var.availability_zone
  cidr_block                      = cidrsubnet(var.vpc_cidr, 8, 0)
  ipv6_cidr_block                 = var.enable_ipv6 ? cidrsubnet(aws_vpc.this.ipv6_cidr_block, 8, 0) : null
  assign_ipv6_address_on_creation = var.enable_ipv6
  # The VM gets an Elastic IP instead, so its address survives a replacement.
  map_public_ip_on_launch = false

  tags = merge(local.tags, { Name = "${var.name}-public" })
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this.id
  }

  dynamic "route" {
    for_each = var.enable_ipv6 ? [1] : []
    content {
      ipv6_cidr_block = "::/0"
      gateway_id      = aws_internet_gateway.this.id
    }
  }

  tags = merge(local.tags, { Name = "${var.name}-public" })
}

resource "aws_route_table_association" "public" {
  subnet_id      = aws_subnet.public.id
  route_table_id = aws_route_table.public.id
}

resource "aws_security_group" "vm" {
  name        = "${var.name}-vm"
  description = "Shortener VM: 80/443 from Cloudflare only, 22 from the allow-list"
  vpc_id      = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-vm" })
}

resource "aws_vpc_security_group_ingress_rule" "web_ipv4" {
  for_each = local.web_ipv4

  security_group_id = aws_security_group.vm.id
  description       = "HTTP(S) from Cloudflare"
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = each.value.cidr
}

resource "aws_vpc_security_group_ingress_rule" "web_ipv6" {
  for_each = local.web_ipv6

  security_group_id = aws_security_group.vm.id
  description       = "HTTP(S) from Cloudflare"
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv6         = each.value.cidr
}

resource "aws_vpc_security_group_ingress_rule" "ssh_ipv4" {
  for_each = toset(local.ssh_ipv4)

  security_group_id = aws_security_group.vm.id
  description       = "SSH from the allow-list"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "ssh_ipv6" {
  for_each = toset(local.ssh_ipv6)

  security_group_id = aws_security_group.vm.id
  description       = "SSH from the allow-list"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv6         = each.value
}

# Egress stays open: package mirrors, image registries, Cloudflare's API (ACME DNS-01), alert
# receivers (Telegram, SMTP) and S3 for backups are many changing addresses.
resource "aws_vpc_security_group_egress_rule" "all_ipv4" {
  security_group_id = aws_security_group.vm.id
  description       = "All outbound IPv4"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "all_ipv6" {
  count = var.enable_ipv6 ? 1 : 0

  security_group_id = aws_security_group.vm.id
  description       = "All outbound IPv6"
  ip_protocol       = "-1"
  cidr_ipv6         = "::/0"
}
