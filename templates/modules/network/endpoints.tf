# ---- VPC endpoints: AWS APIs without the internet ----
#
# Gateway endpoints (free) put DynamoDB and S3 on every private route table. Interface
# endpoints (billed per hour and GB) give private DNS names inside the VPC to the other services
# the processor and the stack call; with them, nothing in the private subnets needs the NAT
# gateway to reach AWS.

locals {
  gateway_endpoint_services = toset(["dynamodb", "s3"])
  interface_endpoint_services = var.interface_endpoints ? toset([
    "kms",
    "logs",
    "secretsmanager",
    "sqs",
    "sts",
    "xray",
  ]) : toset([])
}

resource "aws_vpc_endpoint" "gateway" {
  for_each = local.gateway_endpoint_services

  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [for table in aws_route_table.private : table.id]

  tags = {
    Name = "${var.name}-${each.key}"
  }
}

# The AWS-managed prefix lists of the gateway services: security groups allow egress to them.
data "aws_ec2_managed_prefix_list" "gateway" {
  for_each = local.gateway_endpoint_services

  name = "com.amazonaws.${local.region}.${each.key}"
}

resource "aws_security_group" "endpoints" {
  count = var.interface_endpoints ? 1 : 0

  name        = "${var.name}-endpoints"
  description = "VPC interface endpoints: HTTPS from inside the VPC only"
  vpc_id      = aws_vpc.this.id

  tags = {
    Name = "${var.name}-endpoints"
  }
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_https" {
  count = var.interface_endpoints ? 1 : 0

  security_group_id = aws_security_group.endpoints[0].id
  description       = "HTTPS from the VPC"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = aws_vpc.this.cidr_block

  tags = {
    Name = "${var.name}-endpoints-https"
  }
}

resource "aws_vpc_endpoint" "interface" {
  for_each = local.interface_endpoint_services

  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = [for subnet in aws_subnet.private : subnet.id]
  security_group_ids  = [aws_security_group.endpoints[0].id]

  tags = {
    Name = "${var.name}-${each.key}"
  }
}
