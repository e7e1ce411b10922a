variable "name" {
  description = "Environment name prefix, e.g. payment-prod; names the health checks."
  type        = string
}

variable "domain" {
  description = "The API's host name, e.g. pay.example.com."
  type        = string
}

variable "hosted_zone_id" {
  description = "Route 53 hosted zone that holds the domain."
  type        = string
}

variable "routing" {
  description = "failover: all clients to the PRIMARY region while it is healthy; weighted: clients spread by weight."
  type        = string

  validation {
    condition     = contains(["failover", "weighted"], var.routing)
    error_message = "routing is failover or weighted."
  }
}

variable "validation_record" {
  description = "The DNS record ACM checks before it issues each region's certificate."
  type = object({
    name  = string
    type  = string
    value = string
  })
}

variable "endpoints" {
  description = "Each serving region's custom-domain target, keyed by region: its failover role (PRIMARY or SECONDARY) or weight, and where Route 53 probes its health."
  type = map(object({
    target_domain_name = string
    target_zone_id     = string
    failover           = string
    weight             = number
    health_check = object({
      fqdn          = string
      resource_path = string
    })
  }))

  validation {
    condition     = alltrue([for endpoint in values(var.endpoints) : contains(["PRIMARY", "SECONDARY"], endpoint.failover)])
    error_message = "failover is PRIMARY or SECONDARY."
  }
}
