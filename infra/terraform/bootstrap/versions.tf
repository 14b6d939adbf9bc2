# Run once per AWS account, by an administrator, with local state (ADR 0021): it creates the state
# bucket every other root keeps its state in, and the GitHub OIDC roles the workflow assumes.
terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "6.25.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project   = "shortener"
      ManagedBy = "terraform-bootstrap"
    }
  }
}
