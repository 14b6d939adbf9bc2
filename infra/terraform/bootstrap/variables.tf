variable "region" {
  type        = string
  description = "Region of the state bucket (the production backend's region)."
  default     = "eu-central-1"
}

variable "state_bucket_name" {
  type        = string
  description = "Globally unique name of the S3 bucket that holds Terraform state."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be a valid S3 bucket name."
  }
}

variable "github_repository" {
  type        = string
  description = "owner/name of the GitHub repository whose workflow may assume the roles."

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}
