output "function_name" {
  description = "Name of the payment processor function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the payment processor function."
  value       = aws_lambda_function.this.arn
}

output "dead_letter_queue_name" {
  description = "Name of the processor's dead-letter queue."
  value       = aws_sqs_queue.dead_letter.name
}

output "security_group_id" {
  description = "Security group of the function; the database admits it on 5432."
  value       = aws_security_group.function.id
}

output "api_id" {
  description = "Id of the HTTP API."
  value       = aws_apigatewayv2_api.this.id
}

output "api_stage_name" {
  description = "Name of the API stage."
  value       = aws_apigatewayv2_stage.this.name
}

output "api_endpoint" {
  description = "Base URL of the payments API."
  value       = aws_apigatewayv2_stage.this.invoke_url
}

output "invoke_policy_json" {
  description = "IAM policy granting a caller execute-api:Invoke on exactly the payments routes."
  value       = data.aws_iam_policy_document.invoke.json
}

output "invoke_resource_arns" {
  description = "The execute-api ARNs of exactly the payments routes, for a policy that spans regions."
  value       = local.invoke_resource_arns
}

output "health_check_target" {
  description = "Where Route 53 probes this region: the API's own execute-api host (TLS, no custom domain needed) and the unsigned health route's path."
  value = {
    fqdn          = trimprefix(aws_apigatewayv2_api.this.api_endpoint, "https://")
    resource_path = var.stage_name == "$default" ? "/health" : "/${var.stage_name}/health"
  }
}
