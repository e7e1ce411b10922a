variable "name" {
  description = "Environment name prefix, e.g. payment-dev."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the source region's key for logs and notifications; encrypts the alarm topic."
  type        = string
}

variable "alarm_emails" {
  description = "Addresses subscribed to the alarm topic (each must confirm by email)."
  type        = list(string)
  default     = []
}

variable "source_topic_arn" {
  description = "An existing SNS topic in the source region (PagerDuty, chat...) the alarms also notify; null for none."
  type        = string
  default     = null
}

variable "alarm_rule" {
  description = "Threshold (objects pending), period (seconds) and evaluation periods of the backlog alarms."
  type = object({
    threshold          = number
    period             = number
    evaluation_periods = number
  })

  validation {
    condition     = var.alarm_rule.period % 60 == 0 && var.alarm_rule.evaluation_periods >= 1
    error_message = "The period is whole minutes and the alarm evaluates at least one period."
  }
}

variable "source_bucket" {
  description = "The source region's data bucket, whose replication S3 measures."
  type        = string
}

variable "destination_buckets" {
  description = "The buckets it replicates to, keyed by region (one alarm each)."
  type        = map(string)
}
