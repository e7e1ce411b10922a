output "arn" {
  description = "ARN of the replica in this module's region."
  value       = aws_dynamodb_table_replica.this.arn
}
