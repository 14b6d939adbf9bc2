output "state_bucket" {
  description = "Pass to the production root: terraform init -backend-config=\"bucket=<this>\"; and set it as the TF_STATE_BUCKET repository variable."
  value       = aws_s3_bucket.state.bucket
}

output "plan_role_arn" {
  description = "Role the workflow assumes for plan (repository variable AWS_PLAN_ROLE_ARN)."
  value       = aws_iam_role.github["plan"].arn
}

output "apply_role_arn" {
  description = "Role the workflow assumes for apply in the production environment (AWS_APPLY_ROLE_ARN)."
  value       = aws_iam_role.github["apply"].arn
}

output "account_id" {
  description = "AWS account the bootstrap ran in."
  value       = data.aws_caller_identity.current.account_id
}
