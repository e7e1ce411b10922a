output "certificate_validation_record" {
  description = "The DNS record that proves the domain to ACM. ACM asks the same record of every region's certificate for a domain in one account."
  value = one([
    for option in aws_acm_certificate.this.domain_validation_options : {
      name  = option.resource_record_name
      type  = option.resource_record_type
      value = option.resource_record_value
    }
  ])
}

output "domain_target" {
  description = "Where Route 53 sends this region's share of the custom domain."
  value = {
    name    = aws_apigatewayv2_domain_name.this.domain_name_configuration[0].target_domain_name
    zone_id = aws_apigatewayv2_domain_name.this.domain_name_configuration[0].hosted_zone_id
  }
}
