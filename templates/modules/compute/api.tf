# ---- HTTP API: every route requires authorization ----

resource "aws_apigatewayv2_api" "this" {
  name          = "${var.name}-payments"
  description   = "Payments API"
  protocol_type = "HTTP"

  tags = {
    Name = "${var.name}-payments"
  }
}

resource "aws_apigatewayv2_authorizer" "jwt" {
  count = var.jwt == null ? 0 : 1

  api_id           = aws_apigatewayv2_api.this.id
  name             = "jwt"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]

  jwt_configuration {
    issuer   = var.jwt.issuer
    audience = var.jwt.audience
  }
}

resource "aws_apigatewayv2_integration" "function" {
  api_id                 = aws_apigatewayv2_api.this.id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = aws_lambda_function.this.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 29000
}

resource "aws_apigatewayv2_route" "this" {
  for_each = local.routes

  api_id             = aws_apigatewayv2_api.this.id
  route_key          = each.value.route_key
  target             = "integrations/${aws_apigatewayv2_integration.function.id}"
  authorization_type = var.jwt == null ? "AWS_IAM" : "JWT"
  authorizer_id      = var.jwt == null ? null : aws_apigatewayv2_authorizer.jwt[0].id
}

# Route 53's health checkers probe from outside and cannot sign: this one route is open. It
# answers only whether this region serves (its processor reads its table copy), carries no data,
# and is throttled on its own (the stage's route_settings).
resource "aws_apigatewayv2_route" "health" {
  # checkov:skip=CKV_AWS_309:The health route answers Route 53's unsigned probes with {"status": "ok"} only; every payment route requires authorization.
  api_id             = aws_apigatewayv2_api.this.id
  route_key          = local.health_route.route_key
  target             = "integrations/${aws_apigatewayv2_integration.function.id}"
  authorization_type = "NONE"
}

resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/aws/apigateway/${var.name}-payments/access"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn

  tags = {
    Name = "${var.name}-payments-access"
  }
}

resource "aws_apigatewayv2_stage" "this" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = var.stage_name
  auto_deploy = true

  default_route_settings {
    throttling_burst_limit   = var.throttling_burst_limit
    throttling_rate_limit    = var.throttling_rate_limit
    detailed_metrics_enabled = true
  }

  # Route 53 probes about once a second from all its checkers; more is not a health check.
  route_settings {
    route_key              = aws_apigatewayv2_route.health.route_key
    throttling_burst_limit = 10
    throttling_rate_limit  = 5
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      requestTime        = "$context.requestTime"
      httpMethod         = "$context.httpMethod"
      routeKey           = "$context.routeKey"
      status             = "$context.status"
      responseLength     = "$context.responseLength"
      latencyMs          = "$context.responseLatency"
      integrationStatus  = "$context.integrationStatus"
      integrationLatency = "$context.integrationLatency"
      sourceIp           = "$context.identity.sourceIp"
      callerArn          = "$context.identity.userArn"
      errorMessage       = "$context.error.message"
    })
  }

  tags = {
    Name = "${var.name}-payments"
  }
}

# Scoped to this API and exactly these routes (the health probe's too), so no other API can
# invoke the function.
resource "aws_lambda_permission" "api" {
  for_each = merge(local.routes, { health = local.health_route })

  statement_id  = "AllowPaymentsApi-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/*/${each.value.arn_path}"
}

# ---- What a caller needs: execute-api:Invoke on exactly these routes ----

locals {
  invoke_resource_arns = [
    for route in values(local.routes) :
    "${aws_apigatewayv2_api.this.execution_arn}/${aws_apigatewayv2_stage.this.name}/${route.arn_path}"
  ]
}

data "aws_iam_policy_document" "invoke" {
  statement {
    sid       = "InvokePaymentsApi"
    actions   = ["execute-api:Invoke"]
    resources = local.invoke_resource_arns
  }
}
