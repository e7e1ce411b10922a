variable "bucket" {
  description = "Name of the S3 bucket that keeps the Terraform state (backend.bucket in the YAML)."
  type        = string
}

variable "environment" {
  description = "The payinfra environment whose state the bucket keeps."
  type        = string
}

variable "emulator_compatible" {
  description = "Leave out what the local AWS emulator cannot serve (payinfra's EMULATOR_GAPS). Never true for a real environment."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days S3 keeps a superseded state version, for recovery."
  type        = number

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "Keep superseded state at least one day."
  }
}
