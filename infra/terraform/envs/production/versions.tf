terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "6.25.0"
    }
    cloudflare = {
      source  = "cloudflare/cloudflare"
      version = "5.14.0"
    }
  }

  # State in S3 with S3-native locking (ADR 0021). The bucket comes from the bootstrap root:
  #   terraform init -backend-config="bucket=<state bucket>"
  backend "s3" {
    key          = "shortener/production/terraform.tfstate"
    region       = "eu-central-1"
    encrypt      = true
    use_lockfile = true
  }
}

# Credentials come from the environment only: AWS from the GitHub OIDC role (or an operator's
# profile), Cloudflare from CLOUDFLARE_API_TOKEN. Nothing secret is a variable, so none reaches state.
provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = "shortener"
      Environment = "production"
      ManagedBy   = "terraform"
    }
  }
}

provider "cloudflare" {}
