# The single VM of the stack (AWS EC2, ADR 0020): Debian 13 (its own docker.io and compose v2
# plugin), encrypted disks, IMDSv2 only, an Elastic IP that survives a replacement, and a data
# volume kept apart from the instance so a replaced VM remounts the same PostgreSQL data.
locals {
  tags = merge(var.tags, { Module = "compute" })

  # Sized from the benchmarks (README): the API, worker, PostgreSQL and Redis use the 2 cores; the
  # observability stack needs most of the 8 GiB. Non-burstable families: the load is steady.
  instance_types = {
    x86_64 = { small = "c7i.large", medium = "m7i.large", large = "m7i.xlarge" }
    arm64  = { small = "c7g.large", medium = "m7g.large", large = "m7g.xlarge" }
  }
  instance_type = local.instance_types[var.architecture][var.size]

  image_architecture = var.architecture == "x86_64" ? "amd64" : "arm64"
  # Nitro instances expose EBS volumes as NVMe devices named after the volume id.
  data_device = "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${replace(aws_ebs_volume.data.id, "-", "")}"
}

# Debian's official images (account 136693071363 publishes them).
data "aws_ami" "debian" {
  most_recent = true
  owners      = ["136693071363"]

  filter {
    name   = "name"
    values = ["debian-13-${local.image_architecture}-*"]
  }

  filter {
    name   = "architecture"
    values = [var.architecture]
  }
}

resource "aws_key_pair" "admin" {
  key_name   = "${var.name}-admin"
  public_key = var.admin_ssh_public_key
  tags       = local.tags
}

resource "aws_ebs_volume" "data" {
  availability_zone = var.availability_zone
  size              = var.data_volume_size_gb
  type              = "gp3"
  encrypted         = true

  tags = merge(local.tags, { Name = "${var.name}-data" })

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_instance" "vm" {
  ami                    = data.aws_ami.debian.id
  instance_type          = local.instance_type
  availability_zone      = var.availability_zone
  subnet_id              = var.subnet_id
  vpc_security_group_ids = var.security_group_ids
  key_name               = aws_key_pair.admin.key_name
  ipv6_address_count     = var.enable_ipv6 ? 1 : 0
  user_data              = var.user_data
  # cloud-init runs once: a changed user-data must build a new VM, not be silently ignored. (So no
  # termination protection, which would block that replacement: the data lives on the volume below.)
  user_data_replace_on_change = true

  metadata_options {
    http_tokens                 = "required"
    http_endpoint               = "enabled"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.root_volume_size_gb
    encrypted             = true
    delete_on_termination = true
  }

  tags        = merge(local.tags, { Name = var.name })
  volume_tags = merge(local.tags, { Name = "${var.name}-root" })

  lifecycle {
    # A newer Debian image is picked up by rebuilding on purpose, not by every plan.
    ignore_changes = [ami]
  }
}

resource "aws_volume_attachment" "data" {
  device_name = "/dev/sdf"
  volume_id   = aws_ebs_volume.data.id
  instance_id = aws_instance.vm.id
  # On replacement, stop the old VM first so PostgreSQL's files are flushed before the detach.
  stop_instance_before_detaching = true
}

resource "aws_eip" "vm" {
  domain   = "vpc"
  instance = aws_instance.vm.id
  tags     = merge(local.tags, { Name = var.name })
}
