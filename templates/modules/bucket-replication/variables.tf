variable "name" {
  description = "Environment name prefix, e.g. payment-dev, as the data module's: the role keeps its name and tags."
  type        = string
}

variable "source_bucket" {
  description = "The region's data bucket, once its versioning is on (the data module's versioned_bucket output)."
  type = object({
    name = string
    arn  = string
  })
}

variable "source_kms_key_arn" {
  description = "ARN of the key that encrypts the source bucket (replication decrypts with it)."
  type        = string
}

variable "destinations" {
  description = "Buckets the source replicates to, keyed by region: the targets' from the migration source, the other workload regions' from the primary. Each ARN once its bucket's versioning is on."
  type = map(object({
    bucket_arn  = string
    kms_key_arn = string
  }))

  validation {
    condition     = length(var.destinations) > 0
    error_message = "A replication needs at least one destination; leave the module uncalled otherwise."
  }
}

variable "emulator_compatible" {
  description = "Leave out the settings the local AWS emulator cannot store (payinfra's EMULATOR_GAPS). Never true for a real environment."
  type        = bool
  default     = false
}
