variable "name" {
  description = "Environment name prefix, e.g. payment-prod; names the instance and its parts."
  type        = string
}

variable "vpc_id" {
  description = "VPC the instance lives in."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the instance's subnet group."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups allowed to reach PostgreSQL (the payment processor's, where one runs)."
  type        = list(string)
}

variable "migration_cidr_blocks" {
  description = "CIDR blocks allowed to reach PostgreSQL over the peering while data is migrated."
  type        = list(string)
}

variable "engine_version" {
  description = "PostgreSQL version (a replica takes its source's)."
  type        = string
}

variable "parameter_group_family" {
  description = "Parameter group family matching the major version, e.g. postgres17."
  type        = string
}

variable "instance_class" {
  description = "Instance class, e.g. db.t4g.small."
  type        = string
}

variable "allocated_storage_gb" {
  description = "Initial storage in GiB."
  type        = number
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling in GiB."
  type        = number
}

variable "multi_az" {
  description = "Keep a synchronous standby in another availability zone."
  type        = bool
}

variable "allow_major_version_upgrade" {
  description = "Let RDS raise the major version when engine_version asks for it."
  type        = bool
}

variable "apply_immediately" {
  description = "Apply changes RDS would otherwise keep for the maintenance window (class, version, storage, parameter group) now."
  type        = bool
}

variable "maintenance_window" {
  description = "Weekly maintenance window in UTC (ddd:hh:mm-ddd:hh:mm); null keeps the one RDS chose."
  type        = string
  default     = null
}

variable "backup_window" {
  description = "Daily backup window in UTC (hh:mm-hh:mm), apart from the maintenance window; null keeps the one RDS chose."
  type        = string
  default     = null
}

variable "backup_retention_days" {
  description = "Days of automated backups."
  type        = number
}

variable "deletion_protection" {
  description = "Refuse to delete the instance."
  type        = bool
}

variable "skip_final_snapshot" {
  description = "Delete without a final snapshot (throwaway environments only)."
  type        = bool
}

variable "db_name" {
  description = "Initial database name (standalone instances)."
  type        = string
}

variable "master_username" {
  description = "Master user name; RDS keeps its password in Secrets Manager."
  type        = string
}

variable "log_retention_days" {
  description = "Days the PostgreSQL log groups keep their events."
  type        = number
}

variable "logs_kms_key_arn" {
  description = "Key that encrypts the log groups."
  type        = string
}

variable "replicate_source_db" {
  description = "ARN of the instance this one is a read replica of; null for a standalone instance. Setting it to null promotes the replica in place."
  type        = string
  default     = null

  validation {
    condition     = var.replicate_source_db == null || can(regex("^arn:aws[a-z-]*:rds:", var.replicate_source_db))
    error_message = "A cross-region read replica names its source by ARN."
  }
}

variable "emulator_compatible" {
  description = "Leave out the settings the local AWS emulator cannot store (payinfra's EMULATOR_GAPS). Never true for a real environment."
  type        = bool
  default     = false
}

variable "identifier" {
  description = "The instance identifier when the database was adopted (payinfra adopt) and must be kept; null: <name>-db."
  type        = string
  default     = null
  validation {
    condition     = var.identifier == null || can(regex("^[a-z]([a-z0-9]|-[a-z0-9]){0,62}$", var.identifier))
    error_message = "An RDS identifier starts with a letter; letters, digits and single hyphens, at most 63."
  }
}

variable "subnet_group_name" {
  description = "The DB subnet group's name when it was adopted and must be kept; null: the instance identifier."
  type        = string
  default     = null
}
