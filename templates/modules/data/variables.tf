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

variable "replication_destinations" {
  description = "Buckets this region's bucket replicates to, keyed by region; empty for targets."
  type = map(object({
    bucket_arn  = string
    kms_key_arn = string
  }))
  default = {}
}

variable "database" {
  description = "The PostgreSQL instance and DynamoDB table, in the one region that runs the workload; null elsewhere."
  type = object({
    vpc_id                      = string
    subnet_ids                  = list(string)
    client_security_group_ids   = list(string)
    migration_cidr_blocks       = list(string)
    engine_version              = string
    parameter_group_family      = string
    instance_class              = string
    allocated_storage_gb        = number
    max_allocated_storage_gb    = number
    multi_az                    = bool
    allow_major_version_upgrade = bool
    backup_retention_days       = number
    deletion_protection         = bool
    skip_final_snapshot         = bool
    db_name                     = string
    master_username             = string
    log_retention_days          = number
    logs_kms_key_arn            = string
  })
  default = null
}

variable "emulator_compatible" {
  description = "Leave out the settings the local AWS emulator cannot store (payinfra's EMULATOR_GAPS). Never true for a real environment."
  type        = bool
  default     = false
}
