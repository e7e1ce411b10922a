data "aws_region" "requester" {
  provider = aws.requester
}

locals {
  # The connection spans two regions; both sides carry the same tags so neither overwrites the other.
  tags = {
    Name   = var.name
    Region = "${data.aws_region.requester.name}:${var.accepter_region}"
  }
}

# ---- Connection ----

resource "aws_vpc_peering_connection" "this" {
  provider = aws.requester

  vpc_id      = var.requester_vpc_id
  peer_vpc_id = var.accepter_vpc_id
  peer_region = var.accepter_region
  auto_accept = false

  tags = local.tags
}

resource "aws_vpc_peering_connection_accepter" "this" {
  provider = aws.accepter

  vpc_peering_connection_id = aws_vpc_peering_connection.this.id
  auto_accept               = true

  tags = local.tags
}

# ---- Cross-VPC DNS ----
# Options can only be set once the connection is active, hence the accepter's id on both sides.

resource "aws_vpc_peering_connection_options" "requester" {
  provider = aws.requester

  vpc_peering_connection_id = aws_vpc_peering_connection_accepter.this.id

  requester {
    allow_remote_vpc_dns_resolution = true
  }
}

resource "aws_vpc_peering_connection_options" "accepter" {
  provider = aws.accepter

  vpc_peering_connection_id = aws_vpc_peering_connection_accepter.this.id

  accepter {
    allow_remote_vpc_dns_resolution = true
  }
}

# ---- Routes, both directions, on the tables the private subnets actually use ----

resource "aws_route" "requester_to_accepter" {
  provider = aws.requester
  for_each = var.requester_route_table_ids

  route_table_id            = each.value
  destination_cidr_block    = var.accepter_cidr_block
  vpc_peering_connection_id = aws_vpc_peering_connection_accepter.this.id
}

resource "aws_route" "accepter_to_requester" {
  provider = aws.accepter
  for_each = var.accepter_route_table_ids

  route_table_id            = each.value
  destination_cidr_block    = var.requester_cidr_block
  vpc_peering_connection_id = aws_vpc_peering_connection_accepter.this.id
}
