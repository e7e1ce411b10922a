# ---- Custom domain: the one URL clients keep through a region move ----
# Each serving region has its own certificate and regional domain name for the same host name;
# Route 53 (the dns module) decides which region answers. A module of its own beside compute:
# the certificate's validation record and the failover records live with dns, which reads this
# module, so compute reads nothing of dns (docs/region-roots.md).

resource "aws_acm_certificate" "this" {
  domain_name       = var.domain_name
  validation_method = "DNS"

  tags = {
    Name = "${var.name}-api"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_acm_certificate_validation" "this" {
  certificate_arn         = aws_acm_certificate.this.arn
  validation_record_fqdns = var.validation_record_fqdns
}

resource "aws_apigatewayv2_domain_name" "this" {
  domain_name = var.domain_name

  domain_name_configuration {
    certificate_arn = aws_acm_certificate_validation.this.certificate_arn
    endpoint_type   = "REGIONAL"
    security_policy = "TLS_1_2"
  }

  tags = {
    Name = "${var.name}-api"
  }
}

resource "aws_apigatewayv2_api_mapping" "this" {
  api_id      = var.api_id
  domain_name = aws_apigatewayv2_domain_name.this.id
  stage       = var.stage_name
}
