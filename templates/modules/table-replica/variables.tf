variable "name" {
  description = "Name tag of the replica: the table's name."
  type        = string
}

variable "global_table_arn" {
  description = "ARN of the table in its home region; the replica is created in this module's region."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/", var.global_table_arn))
    error_message = "The global table ARN is a DynamoDB table ARN (arn:aws:dynamodb:REGION:ACCOUNT:table/NAME)."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key, in this module's region, that encrypts the replica."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "The replica's key is a KMS key ARN."
  }
}

variable "deletion_protection" {
  description = "Refuse deletion of the replica (on in every protected environment)."
  type        = bool
}
