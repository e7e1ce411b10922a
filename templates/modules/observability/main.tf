locals {
  region = data.aws_region.current.name

  lambda_dimensions = ["FunctionName", var.function_name]
  api_dimensions    = ["ApiId", var.api_id, "Stage", var.api_stage_name]
  db_dimensions     = ["DBInstanceIdentifier", var.db_instance_identifier]
  table_dimensions  = ["TableName", var.table_name]

  # Every metric names its dimensions: without them CloudWatch graphs nothing.
  dashboard_widgets = [
    {
      title = "Payment processor"
      metrics = [
        concat(["AWS/Lambda", "Invocations"], local.lambda_dimensions, [{ stat = "Sum" }]),
        concat(["AWS/Lambda", "Errors"], local.lambda_dimensions, [{ stat = "Sum" }]),
        concat(["AWS/Lambda", "Throttles"], local.lambda_dimensions, [{ stat = "Sum" }]),
        concat(["AWS/Lambda", "Duration"], local.lambda_dimensions, [{ stat = "p99" }]),
      ]
    },
    {
      title = "Payments API"
      metrics = [
        concat(["AWS/ApiGateway", "Count"], local.api_dimensions, [{ stat = "Sum" }]),
        concat(["AWS/ApiGateway", "4xx"], local.api_dimensions, [{ stat = "Sum" }]),
        concat(["AWS/ApiGateway", "5xx"], local.api_dimensions, [{ stat = "Sum" }]),
        concat(["AWS/ApiGateway", "Latency"], local.api_dimensions, [{ stat = "p99" }]),
      ]
    },
    {
      title = "PostgreSQL"
      metrics = [
        concat(["AWS/RDS", "CPUUtilization"], local.db_dimensions, [{ stat = "Average" }]),
        concat(["AWS/RDS", "DatabaseConnections"], local.db_dimensions, [{ stat = "Maximum" }]),
        concat(["AWS/RDS", "FreeStorageSpace"], local.db_dimensions, [{ stat = "Minimum" }]),
      ]
    },
    {
      title = "Transactions table"
      metrics = [
        concat(["AWS/DynamoDB", "ConsumedReadCapacityUnits"], local.table_dimensions, [{ stat = "Sum" }]),
        concat(["AWS/DynamoDB", "ConsumedWriteCapacityUnits"], local.table_dimensions, [{ stat = "Sum" }]),
        concat(["AWS/DynamoDB", "ReadThrottleEvents"], local.table_dimensions, [{ stat = "Sum" }]),
        concat(["AWS/DynamoDB", "WriteThrottleEvents"], local.table_dimensions, [{ stat = "Sum" }]),
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
  dashboard_name = "${var.name}-payments"
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
