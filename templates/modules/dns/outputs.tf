output "validation_record_fqdns" {
  description = "The validation record, for each region's certificate validation."
  value       = [aws_route53_record.validation.fqdn]
}

output "api_url" {
  description = "The URL clients use in every phase of a region move."
  value       = "https://${var.domain}"
}

output "active_regions" {
  description = "Region -> its routing (PRIMARY/SECONDARY, or weight) as Route 53 has it."
  value = {
    for region, record in aws_route53_record.api : region => (
      var.routing == "failover" ? record.failover_routing_policy[0].type : tostring(record.weighted_routing_policy[0].weight)
    )
  }
}
