variable "name" {
  description = "Name of the peering connection, e.g. payment-dev-us-east-1-to-eu-west-1."
  type        = string
}

variable "requester_vpc_id" {
  description = "VPC that requests the peering (the source region's)."
  type        = string
}

variable "requester_cidr_block" {
  description = "CIDR of the requester VPC; the accepter side routes it into the peering."
  type        = string
}

variable "requester_route_table_ids" {
  description = "Route tables of the requester's private subnets, keyed by availability zone."
  type        = map(string)
}

variable "accepter_vpc_id" {
  description = "VPC that accepts the peering (a target region's)."
  type        = string
}

variable "accepter_region" {
  description = "Region of the accepter VPC."
  type        = string
}

variable "accepter_cidr_block" {
  description = "CIDR of the accepter VPC; the requester side routes it into the peering."
  type        = string
}

variable "accepter_route_table_ids" {
  description = "Route tables of the accepter's private subnets, keyed by availability zone."
  type        = map(string)
}
