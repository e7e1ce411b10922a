locals {
  partition = data.aws_partition.current.partition
  # The table's copy in this region: the home table, or its replica of the same name.
  table_arn = "arn:${local.partition}:dynamodb:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:table/${var.table_name}"
  # An adopted function keeps its name (a function cannot be renamed).
  function_name = coalesce(var.function_name, "${var.name}-payment-processor")

  # The API's routes, and the execute-api ARN path each one is invoked through.
  routes = {
    create-payment = { route_key = "POST /payments", arn_path = "POST/payments" }
    get-payment    = { route_key = "GET /payments/{transactionId}", arn_path = "GET/payments/*" }
    # The reference stack's route, kept so its clients keep working.
    create-payment-reference = { route_key = "POST /payment", arn_path = "POST/payment" }
  }
  # Open to Route 53's health checkers (api.tf): not among the routes a caller is granted.
  health_route = { route_key = "GET /health", arn_path = "GET/health" }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

# ---- Key for the function's settings and its dead-letter queue ----

module "key" {
  source = "../kms-key"

  name        = "${var.name}-payment-processor"
  description = "${var.name} payment processor settings and dead-letter queue"
}

# ---- Network: HTTPS to AWS APIs, PostgreSQL inside the VPC, nothing else ----

resource "aws_security_group" "function" {
  name        = "${var.name}-payment-processor"
  description = "Payment processor Lambda: egress to AWS APIs and PostgreSQL only"
  vpc_id      = var.vpc_id

  tags = {
    Name = "${var.name}-payment-processor"
  }
}

# With the network's VPC endpoints, AWS APIs never leave the VPC: DynamoDB and S3 through
# their gateway endpoints' prefix lists, everything else through the interface endpoints.

resource "aws_vpc_security_group_egress_rule" "gateway_endpoints" {
  for_each = var.private_aws_access.prefix_list_ids

  security_group_id = aws_security_group.function.id
  description       = var.emulator_compatible ? null : "HTTPS to ${each.key} through its gateway endpoint" # emulator gap: security_group_rule_description
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = each.value

  tags = {
    Name = "${var.name}-payment-processor-${each.key}"
  }
}

resource "aws_vpc_security_group_egress_rule" "interface_endpoints" {
  count = var.interface_endpoints ? 1 : 0

  security_group_id            = aws_security_group.function.id
  description                  = var.emulator_compatible ? null : "HTTPS to the VPC interface endpoints" # emulator gap: security_group_rule_description
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = var.private_aws_access.endpoints_security_group_id

  tags = {
    Name = "${var.name}-payment-processor-endpoints"
  }
}

# Without interface endpoints (a cost choice for dev), KMS, SQS and X-Ray are reached through
# the NAT gateway: the one internet egress the stack ever has.
resource "aws_vpc_security_group_egress_rule" "internet_https" {
  count = var.interface_endpoints ? 0 : 1

  security_group_id = aws_security_group.function.id
  description       = "HTTPS to AWS APIs through NAT (no interface endpoints in this environment)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"

  tags = {
    Name = "${var.name}-payment-processor-https"
  }
}

resource "aws_vpc_security_group_egress_rule" "postgres" {
  security_group_id = aws_security_group.function.id
  description       = "PostgreSQL inside the VPC"
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = var.vpc_cidr_block

  tags = {
    Name = "${var.name}-payment-processor-postgres"
  }
}

# ---- Dead-letter queue for failed asynchronous invocations ----

resource "aws_sqs_queue" "dead_letter" {
  name                      = "${var.name}-payment-processor-dlq"
  kms_master_key_id         = module.key.key_arn
  message_retention_seconds = 1209600

  tags = {
    Name = "${var.name}-payment-processor-dlq"
  }
}

# ---- Execution role ----

data "aws_iam_policy_document" "function_assume" {
  statement {
    sid     = "LambdaAssumesRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "function" {
  statement {
    sid = "ReadWriteTransactions"
    actions = [
      "dynamodb:ConditionCheckItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
    ]
    # Query on a GSI is authorised against the index ARN, not the table's.
    resources = [local.table_arn, "${local.table_arn}/index/*"]
  }

  statement {
    sid       = "WriteOwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function.arn}:*"]
  }

  statement {
    sid       = "UseOwnKeys"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [module.key.key_arn, var.table_kms_key_arn]
  }

  statement {
    sid       = "SendToDeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter.arn]
  }

  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"] # X-Ray has no resource-level permissions for these actions.
  }

  # Explicit, so that no statement added later can let the processor delete payments or
  # reshape the table: an explicit deny wins over any allow.
  statement {
    sid    = "DenyDeletingPaymentsOrTheTable"
    effect = "Deny"
    actions = [
      "dynamodb:DeleteBackup",
      "dynamodb:DeleteItem",
      "dynamodb:DeleteTable",
      "dynamodb:UpdateContinuousBackups",
      "dynamodb:UpdateTable",
    ]
    resources = [local.table_arn, "${local.table_arn}/index/*"]
  }

  # The writer record fences every new payment (docs/failover.md); a processor that could
  # write it could make its own region the writer again.
  statement {
    sid       = "DenyClaimingTheWriterRecord"
    effect    = "Deny"
    actions   = ["dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [local.table_arn]
    condition {
      test     = "ForAnyValue:StringEquals"
      variable = "dynamodb:LeadingKeys"
      values   = ["#writer"]
    }
  }
}

# IAM is global: the role names its region, so each region's processor has its own.
resource "aws_iam_role" "function" {
  name               = "${var.name}-${data.aws_region.current.name}-processor"
  assume_role_policy = data.aws_iam_policy_document.function_assume.json

  tags = {
    Name = "${var.name}-payment-processor"
  }
}

resource "aws_iam_role_policy" "function" {
  name   = "payment-processor"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function.json
}

resource "aws_iam_role_policy_attachment" "vpc_access" {
  role       = aws_iam_role.function.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

# ---- Function ----

# The writer region's function is updated only after every other region's: in a switch the old
# writer stops taking new payments before the new one starts (docs/region-moves.md: "One writer").
resource "terraform_data" "apply_after" {
  input = var.apply_after
}

resource "aws_cloudwatch_log_group" "function" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn

  tags = {
    Name = local.function_name
  }
}

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_272:The zip is built reproducibly by payinfra from reviewed source and pinned by source_code_hash; AWS Signer jobs run outside Terraform.
  function_name                  = local.function_name
  description                    = "POST /payments and GET /payments/{transactionId}"
  role                           = aws_iam_role.function.arn
  runtime                        = "python3.12"
  architectures                  = ["arm64"]
  handler                        = var.handler
  filename                       = var.package_path
  source_code_hash               = filebase64sha256(var.package_path)
  memory_size                    = var.memory_mb
  timeout                        = var.timeout_seconds
  reserved_concurrent_executions = var.reserved_concurrency
  kms_key_arn                    = module.key.key_arn

  environment {
    variables = var.environment_variables
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [aws_security_group.function.id]
  }

  tracing_config {
    mode = "Active"
  }

  # emulator gap: lambda_dead_letter_config
  dynamic "dead_letter_config" {
    for_each = var.emulator_compatible ? [] : [aws_sqs_queue.dead_letter.arn]

    content {
      target_arn = dead_letter_config.value
    }
  }

  # emulator gap: lambda_logging_config
  dynamic "logging_config" {
    for_each = var.emulator_compatible ? [] : [aws_cloudwatch_log_group.function.name]

    content {
      log_format = "JSON"
      log_group  = logging_config.value
    }
  }

  tags = {
    Name = local.function_name
  }

  depends_on = [
    terraform_data.apply_after,
    aws_cloudwatch_log_group.function,
    aws_iam_role_policy.function,
    aws_iam_role_policy_attachment.vpc_access,
  ]
}
