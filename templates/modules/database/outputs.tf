output "db_instance_arn" {
  description = "ARN of the instance; replicas in other regions name their source by it."
  value       = aws_db_instance.this.arn
}

output "db_instance_identifier" {
  description = "Identifier of the instance."
  value       = aws_db_instance.this.identifier
}

output "db_endpoint" {
  description = "host:port of the instance."
  value       = aws_db_instance.this.endpoint
}

output "db_master_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the master credentials (not the value); null for a replica."
  value       = one(aws_db_instance.this.master_user_secret[*].secret_arn)
}
