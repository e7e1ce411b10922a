locals {
  region = data.aws_region.current.name

  # Every metric names its dimensions: without them CloudWatch graphs nothing.
  dashboard_widgets = [
    {
      title = "Payment processor"
      metrics = [
        ["AWS/Lambda", "Invocations", "FunctionName", var.function_name, { stat = "Sum" }],
        ["AWS/Lambda", "Errors", "FunctionName", var.function_name, { stat = "Sum" }],
        ["AWS/Lambda", "Throttles", "FunctionName", var.function_name, { stat = "Sum" }],
        ["AWS/Lambda", "Duration", "FunctionName", var.function_name, { stat = "p99" }],
      ]
    },
    {
      title = "Payments API"
      metrics = [
        ["AWS/ApiGateway", "Count", "ApiId", var.api_id, "Stage", var.api_stage_name, { stat = "Sum" }],
        ["AWS/ApiGateway", "4xx", "ApiId", var.api_id, "Stage", var.api_stage_name, { stat = "Sum" }],
        ["AWS/ApiGateway", "5xx", "ApiId", var.api_id, "Stage", var.api_stage_name, { stat = "Sum" }],
        ["AWS/ApiGateway", "Latency", "ApiId", var.api_id, "Stage", var.api_stage_name, { stat = "p99" }],
      ]
    },
    {
      title = "PostgreSQL"
      metrics = [
        ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", var.db_instance_identifier, { stat = "Average" }],
        ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", var.db_instance_identifier, { stat = "Maximum" }],
        ["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", var.db_instance_identifier, { stat = "Minimum" }],
      ]
    },
    {
      title = "Transactions table"
      metrics = [
        ["AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName", var.table_name, { stat = "Sum" }],
        ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", var.table_name, { stat = "Sum" }],
        ["AWS/DynamoDB", "ReadThrottleEvents", "TableName", var.table_name, { stat = "Sum" }],
        ["AWS/DynamoDB", "WriteThrottleEvents", "TableName", var.table_name, { stat = "Sum" }],
      ]
    },
  ]
}

data "aws_region" "current" {}

# ---- Alarm topic ----

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn

  tags = {
    Name = "${var.name}-alarms"
  }
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alarm_emails)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

# ---- Dashboard ----

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = "${var.name}-${local.region}-payments"
  dashboard_body = jsonencode({
    widgets = [
      for index, widget in local.dashboard_widgets : {
        type   = "metric"
        x      = (index % 2) * 12
        y      = floor(index / 2) * 6
        width  = 12
        height = 6
        properties = {
          title   = widget.title
          region  = local.region
          metrics = widget.metrics
          period  = 60
          view    = "timeSeries"
        }
      }
    ]
  })
}
