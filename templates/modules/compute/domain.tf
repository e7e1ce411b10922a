# ---- Custom domain: the one URL clients keep through a region move ----
# Each serving region has its own certificate and regional domain name for the same host name;
# Route 53 (the dns module) decides which region answers.

resource "aws_acm_certificate" "api" {
  count = var.domain_name != null ? 1 : 0

  domain_name       = var.domain_name
  validation_method = "DNS"

  tags = {
    Name = "${var.name}-api"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_acm_certificate_validation" "api" {
  count = var.domain_name != null ? 1 : 0

  certificate_arn         = aws_acm_certificate.api[0].arn
  validation_record_fqdns = var.domain_validation_record_fqdns
}

resource "aws_apigatewayv2_domain_name" "api" {
  count = var.domain_name != null ? 1 : 0

  domain_name = var.domain_name

  domain_name_configuration {
    certificate_arn = aws_acm_certificate_validation.api[0].certificate_arn
    endpoint_type   = "REGIONAL"
    security_policy = "TLS_1_2"
  }

  tags = {
    Name = "${var.name}-api"
  }
}

resource "aws_apigatewayv2_api_mapping" "api" {
  count = var.domain_name != null ? 1 : 0

  api_id      = aws_apigatewayv2_api.this.id
  domain_name = aws_apigatewayv2_domain_name.api[0].id
  stage       = aws_apigatewayv2_stage.this.id
}
