output "vpc_id" {
  description = "The VPC's id."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "The VPC's IPv4 CIDR."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "Public subnet ids keyed by availability zone."
  value       = { for az, subnet in aws_subnet.public : az => subnet.id }
}

output "private_subnet_ids" {
  description = "Private subnet ids keyed by availability zone."
  value       = { for az, subnet in aws_subnet.private : az => subnet.id }
}

output "private_route_table_ids" {
  description = "Ids of the route tables the private subnets use (one, or one per zone)."
  value       = [for az in local.nat_azs : aws_route_table.private[az].id]
}

output "logs_kms_key_arn" {
  description = "ARN of the region's customer-managed key for CloudWatch Logs."
  value       = aws_kms_key.logs.arn
}
