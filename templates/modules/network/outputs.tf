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
  description = "Route tables the private subnets use, keyed by the zone of their NAT gateway."
  value       = { for az, table in aws_route_table.private : az => table.id }
}

output "private_subnet_cidr_blocks" {
  description = "Private subnet CIDRs keyed by availability zone."
  value       = var.private_subnets
}

output "logs_kms_key_arn" {
  description = "ARN of the region's customer-managed key for CloudWatch Logs."
  value       = module.logs_key.key_arn
}

output "private_aws_access" {
  description = "How workloads in the private subnets reach AWS APIs: the gateway services' prefix lists, and the interface endpoints' security group (null without them)."
  value = {
    prefix_list_ids             = { for service, list in data.aws_ec2_managed_prefix_list.gateway : service => list.id }
    endpoints_security_group_id = var.interface_endpoints ? aws_security_group.endpoints[0].id : null
  }
}
