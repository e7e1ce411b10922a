variable "name" {
  description = "Environment name prefix, e.g. payment-prod (tags)."
  type        = string
}

variable "domain_name" {
  description = "The API's custom domain, e.g. pay.example.com: the one host name clients keep through a region move."
  type        = string
}

variable "api_id" {
  description = "The region's payments API (the compute module's api_id)."
  type        = string
}

variable "stage_name" {
  description = "The API stage the domain maps to (the compute module's api_stage_name)."
  type        = string
}

variable "validation_record_fqdns" {
  description = "The validation records the dns module made for the certificate."
  type        = list(string)
}
