output "role_arn" {
  description = "ARN of the role S3 replicates the source bucket with."
  value       = aws_iam_role.this.arn
}
