variable "name" {
  description = "Environment name prefix, e.g. payment-dev; regional resources add the region."
  type        = string
}

variable "noncurrent_version_expiration_days" {
  description = "Days S3 keeps an object version after it stops being current."
  type        = number
}

variable "access_log_retention_days" {
  description = "Days the region's access-log bucket keeps the data bucket's server access logs."
  type        = number

  validation {
    condition     = var.access_log_retention_days >= 1
    error_message = "Access logs are kept at least one day."
  }
}

variable "access_logs_force_destroy" {
  description = "Let `terraform destroy` delete the access logs with their bucket (unprotected environments only)."
  type        = bool
}

variable "table" {
  description = "The transactions table, in its home region only (null elsewhere): its deletion protection and the region its writer record names (the YAML's primary). Its replicas are modules/table-replica."
  type = object({
    deletion_protection = bool
    writer_region       = string
    # An adopted table keeps its name and key schema: a sort key (a Number) beside transactionId.
    name     = optional(string)
    sort_key = optional(string)
  })
  default = null
  validation {
    condition     = var.table == null || can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.table.writer_region))
    error_message = "The writer region is an AWS region name, such as eu-west-1."
  }
}

variable "emulator_compatible" {
  description = "Leave out the settings the local AWS emulator cannot store (payinfra's EMULATOR_GAPS). Never true for a real environment."
  type        = bool
  default     = false
}

variable "bucket_name" {
  description = "The data bucket's name when it was adopted (payinfra adopt) and must be kept; null: <name>-<region>-data-<account>."
  type        = string
  default     = null
}
