variable "name" {
  description = "Prefix for every resource name in this region, e.g. payment-dev-us-east-1."
  type        = string
}

variable "cidr_block" {
  description = "IPv4 CIDR of the VPC."
  type        = string
}

variable "public_subnets" {
  description = "Public subnet CIDR per availability zone; they hold the NAT gateways only."
  type        = map(string)
}

variable "private_subnets" {
  description = "Private subnet CIDR per availability zone; data and compute live here."
  type        = map(string)
}

variable "nat_mode" {
  description = "single: one NAT gateway for the VPC (cheap); per_az: one per zone (survives a zone outage)."
  type        = string

  validation {
    condition     = contains(["single", "per_az"], var.nat_mode)
    error_message = "nat_mode must be single or per_az."
  }
}

variable "flow_log_retention_days" {
  description = "Days CloudWatch Logs keeps VPC flow logs."
  type        = number
}

variable "interface_endpoints" {
  description = "Create interface endpoints (KMS, CloudWatch Logs, Secrets Manager, SQS, STS, X-Ray) so no AWS API call needs the NAT gateway."
  type        = bool
}
