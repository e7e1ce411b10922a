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

variable "alarm_topic_arn" {
  description = "An existing SNS topic in this region (PagerDuty, chat...) every alarm here also notifies; null for none."
  type        = string
  default     = null
}

variable "alarm_rules" {
  description = "Threshold, period (seconds) and evaluation periods of each alarm, keyed by alarm name."
  type = map(object({
    threshold          = number
    period             = number
    evaluation_periods = number
  }))

  validation {
    condition     = alltrue([for rule in values(var.alarm_rules) : rule.period % 60 == 0 && rule.evaluation_periods >= 1])
    error_message = "Periods are whole minutes and every alarm evaluates at least one period."
  }
}

variable "dead_letter_queue_name" {
  description = "The processor's dead-letter queue, whose depth is alarmed on."
  type        = string
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
