output "bucket_name" {
  description = "The state bucket."
  value       = aws_s3_bucket.this.id
}

output "kms_key_arn" {
  description = "ARN of the key that encrypts the state."
  value       = module.key.key_arn
}
