output "bucket_name" {
  description = "Name of this region's data bucket."
  value       = aws_s3_bucket.this.bucket
}

output "versioned_bucket" {
  description = "Name and ARN of this region's bucket, available only once its versioning is on (replication, from it or to it, needs that)."
  value = {
    name = aws_s3_bucket.this.bucket
    arn  = aws_s3_bucket.this.arn
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

output "s3_kms_key_arn" {
  description = "ARN of the key that encrypts this region's bucket."
  value       = module.s3_key.key_arn
}

output "table_name" {
  description = "Name of the transactions table (null outside its home region)."
  value       = one(aws_dynamodb_table.transactions[*].name)
}

output "table_arn" {
  description = "ARN of the transactions table in its home region (null elsewhere)."
  value       = one(aws_dynamodb_table.transactions[*].arn)
}

output "table_kms_key_arn" {
  description = "ARN of the key that encrypts this region's copy of the transactions table ."
  value       = module.dynamodb_key.key_arn
}
