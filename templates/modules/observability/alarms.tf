locals {
  # One entry per alarm; each names its metric's dimensions and notifies the alarm topic.
  alarms = {
    lambda-errors = {
      description = "Payment processor invocations failed"
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      statistic   = "Sum"
      threshold   = 1
      periods     = 1
      dimensions  = { FunctionName = var.function_name }
    }
    lambda-throttles = {
      description = "Payment processor hit its reserved concurrency"
      namespace   = "AWS/Lambda"
      metric      = "Throttles"
      statistic   = "Sum"
      threshold   = 1
      periods     = 1
      dimensions  = { FunctionName = var.function_name }
    }
    api-5xx = {
      description = "Payments API answered with server errors"
      namespace   = "AWS/ApiGateway"
      metric      = "5xx"
      statistic   = "Sum"
      threshold   = 5
      periods     = 1
      dimensions  = { ApiId = var.api_id, Stage = var.api_stage_name }
    }
    rds-cpu = {
      description = "PostgreSQL CPU above 80%"
      namespace   = "AWS/RDS"
      metric      = "CPUUtilization"
      statistic   = "Average"
      threshold   = 80
      periods     = 3
      dimensions  = { DBInstanceIdentifier = var.db_instance_identifier }
    }
    rds-connections = {
      description = "PostgreSQL connections above 80% of a small instance's limit"
      namespace   = "AWS/RDS"
      metric      = "DatabaseConnections"
      statistic   = "Maximum"
      threshold   = 100
      periods     = 3
      dimensions  = { DBInstanceIdentifier = var.db_instance_identifier }
    }
    dynamodb-read-throttles = {
      description = "Transactions table throttled reads"
      namespace   = "AWS/DynamoDB"
      metric      = "ReadThrottleEvents"
      statistic   = "Sum"
      threshold   = 1
      periods     = 1
      dimensions  = { TableName = var.table_name }
    }
    dynamodb-write-throttles = {
      description = "Transactions table throttled writes"
      namespace   = "AWS/DynamoDB"
      metric      = "WriteThrottleEvents"
      statistic   = "Sum"
      threshold   = 1
      periods     = 1
      dimensions  = { TableName = var.table_name }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  statistic           = each.value.statistic
  dimensions          = each.value.dimensions
  period              = 60
  evaluation_periods  = each.value.periods
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  tags = {
    Name = "${var.name}-${each.key}"
  }
}

# Percentiles need `extended_statistic`, so these two stand apart from the table above.

resource "aws_cloudwatch_metric_alarm" "api_latency_p99" {
  alarm_name          = "${var.name}-api-latency-p99"
  alarm_description   = "Payments API p99 latency above 2 s"
  namespace           = "AWS/ApiGateway"
  metric_name         = "Latency"
  extended_statistic  = "p99"
  dimensions          = { ApiId = var.api_id, Stage = var.api_stage_name }
  period              = 60
  evaluation_periods  = 5
  threshold           = 2000
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  tags = {
    Name = "${var.name}-api-latency-p99"
  }
}

resource "aws_cloudwatch_metric_alarm" "rds_free_storage" {
  alarm_name          = "${var.name}-rds-free-storage"
  alarm_description   = "PostgreSQL free storage below 2 GiB"
  namespace           = "AWS/RDS"
  metric_name         = "FreeStorageSpace"
  statistic           = "Minimum"
  dimensions          = { DBInstanceIdentifier = var.db_instance_identifier }
  period              = 300
  evaluation_periods  = 1
  threshold           = 2147483648
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  tags = {
    Name = "${var.name}-rds-free-storage"
  }
}
