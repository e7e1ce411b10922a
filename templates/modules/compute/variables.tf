variable "name" {
  description = "Environment name prefix, e.g. payment-dev."
  type        = string
}

variable "vpc_id" {
  description = "VPC the function runs in."
  type        = string
}

variable "vpc_cidr_block" {
  description = "CIDR of that VPC; the function may reach PostgreSQL anywhere inside it."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets the function runs in."
  type        = list(string)
}

variable "package_path" {
  description = "Path of the deterministic zip payinfra built from lambda_src/."
  type        = string
}

variable "handler" {
  description = "Module and function the Lambda runtime calls."
  type        = string
}

variable "memory_mb" {
  description = "Memory of the function in MB."
  type        = number
}

variable "timeout_seconds" {
  description = "Timeout of the function; below API Gateway's 30 s limit."
  type        = number
}

variable "reserved_concurrency" {
  description = "Concurrent executions reserved for (and capped at) this function."
  type        = number
}

variable "environment_variables" {
  description = "Settings for the function (no secrets)."
  type        = map(string)
}

variable "private_aws_access" {
  description = "How the function reaches AWS APIs inside the VPC: the gateway endpoints' prefix lists by service, and the interface endpoints' security group (null without them)."
  type = object({
    prefix_list_ids             = map(string)
    endpoints_security_group_id = string
  })
}

variable "interface_endpoints" {
  description = "Whether the VPC has interface endpoints (network.interface_endpoints). A literal from the root, not the network module's output, so that scanners see which egress rule exists: the endpoints' group, or HTTPS to 0.0.0.0/0 through NAT."
  type        = bool
}

variable "table_name" {
  description = "Name of the transactions table. The processor uses its copy in this module's region, whose ARN the module derives, so that it reads no other region's module."
  type        = string
}

variable "table_kms_key_arn" {
  description = "ARN of the key that encrypts the transactions table."
  type        = string
}

variable "logs_kms_key_arn" {
  description = "ARN of the region's key for CloudWatch Logs."
  type        = string
}

variable "log_retention_days" {
  description = "Days CloudWatch Logs keeps function and API access logs."
  type        = number
}

variable "throttling_burst_limit" {
  description = "API Gateway default route burst limit (requests)."
  type        = number
}

variable "throttling_rate_limit" {
  description = "API Gateway default route steady rate limit (requests per second)."
  type        = number
}

variable "jwt" {
  description = "JWT authorizer settings; null means every route requires AWS_IAM (SigV4) auth."
  type = object({
    issuer   = string
    audience = list(string)
  })
  default = null
}

variable "apply_after" {
  description = "ARNs of the functions this one is updated after (the writer's function waits for every other region's)."
  type        = list(string)
  default     = []
}

variable "emulator_compatible" {
  description = "Leave out the settings the local AWS emulator cannot store (payinfra's EMULATOR_GAPS). Never true for a real environment."
  type        = bool
  default     = false
}

variable "function_name" {
  description = "The function's name when it was adopted (payinfra adopt) and must be kept; null: <name>-payment-processor."
  type        = string
  default     = null
  validation {
    condition     = var.function_name == null || can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "A Lambda function name is 1-64 letters, digits, hyphens or underscores."
  }
}

variable "stage_name" {
  description = "The API stage: $default (no path in the URL), or an adopted stage that clients call by name (such as prod)."
  type        = string
  default     = "$default"
  validation {
    condition     = can(regex("^(\\$default|[A-Za-z0-9_-]{1,128})$", var.stage_name))
    error_message = "A stage is $default or 1-128 letters, digits, hyphens or underscores."
  }
}
