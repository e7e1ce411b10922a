variable "name" {
  description = "The key's alias (without `alias/`) and Name tag."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_-]{1,250}$", var.name)) && !startswith(var.name, "aws/")
    error_message = "An alias name is 1-250 letters, digits, '/', '_' or '-', and never starts with aws/."
  }
}

variable "name_tag" {
  description = "The key's Name tag when it differs from its alias name (null: the alias name)."
  type        = string
  default     = null
}

variable "description" {
  description = "What the key encrypts, as the KMS console shows it."
  type        = string
}

variable "deletion_window_in_days" {
  description = "Days a key scheduled for deletion can still be recovered (the data it encrypted with it)."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "KMS allows a deletion window of 7 to 30 days."
  }
}

variable "service_statements" {
  description = "One key policy statement per AWS service that uses the key for this account, each scoped by a condition (the account, or its own resources)."
  type = list(object({
    sid       = string
    service   = string
    actions   = list(string)
    condition = object({ test = string, variable = string, values = list(string) })
  }))
  default = []

  validation {
    condition     = alltrue([for s in var.service_statements : !contains(s.actions, "kms:*") && length(s.condition.values) > 0])
    error_message = "A service statement grants named actions, never kms:*, and is scoped by a condition with a value."
  }
}
