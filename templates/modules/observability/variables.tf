variable "name" {
  description = "Environment name prefix, e.g. payment-dev."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the region's key for logs and notifications; encrypts the alarm topic."
  type        = string
}

variable "alarm_emails" {
  description = "Addresses subscribed to the alarm topic (each must confirm by email)."
  type        = list(string)
  default     = []
}

variable "function_name" {
  description = "Payment processor function the alarms and dashboard watch."
  type        = string
}

variable "api_id" {
  description = "HTTP API the alarms and dashboard watch."
  type        = string
}

variable "api_stage_name" {
  description = "Stage of that API."
  type        = string
}

variable "db_instance_identifier" {
  description = "PostgreSQL instance the alarms and dashboard watch."
  type        = string
}

variable "table_name" {
  description = "Transactions table the alarms and dashboard watch."
  type        = string
}
