locals {
  # One entry per alarm in the primary region; each names its metric's dimensions. Thresholds,
  # periods and evaluation counts come from YAML through var.alarm_rules.
  alarms = {
    lambda-errors = {
      description = "Payment processor invocations failed"
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      statistic   = "Sum"
      dimensions  = { FunctionName = var.function_name }
    }
    lambda-throttles = {
      description = "Payment processor hit its reserved concurrency"
      namespace   = "AWS/Lambda"
      metric      = "Throttles"
      statistic   = "Sum"
      dimensions  = { FunctionName = var.function_name }
    }
    api-5xx = {
      description = "Payments API answered with server errors"
      namespace   = "AWS/ApiGateway"
      metric      = "5xx"
      statistic   = "Sum"
      dimensions  = { ApiId = var.api_id, Stage = var.api_stage_name }
    }
    rds-cpu = {
      description = "PostgreSQL CPU utilisation (%) high"
      namespace   = "AWS/RDS"
      metric      = "CPUUtilization"
      statistic   = "Average"
      dimensions  = { DBInstanceIdentifier = var.db_instance_identifier }
    }
    rds-connections = {
      description = "PostgreSQL connections high for the instance class"
      namespace   = "AWS/RDS"
      metric      = "DatabaseConnections"
      statistic   = "Maximum"
      dimensions  = { DBInstanceIdentifier = var.db_instance_identifier }
    }
    dynamodb-read-throttles = {
      description = "Transactions table throttled reads"
      namespace   = "AWS/DynamoDB"
      metric      = "ReadThrottleEvents"
      statistic   = "Sum"
      dimensions  = { TableName = var.table_name }
    }
    dynamodb-write-throttles = {
      description = "Transactions table throttled writes"
      namespace   = "AWS/DynamoDB"
      metric      = "WriteThrottleEvents"
      statistic   = "Sum"
      dimensions  = { TableName = var.table_name }
    }
    dlq-depth = {
      description = "Failed payment invocations are waiting in the dead-letter queue"
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      dimensions  = { QueueName = var.dead_letter_queue_name }
    }
  }

  alarm_actions = compact([aws_sns_topic.alarms.arn, var.alarm_topic_arn])
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  statistic           = each.value.statistic
  dimensions          = each.value.dimensions
  period              = var.alarm_rules[each.key].period
  evaluation_periods  = var.alarm_rules[each.key].evaluation_periods
  threshold           = var.alarm_rules[each.key].threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = {
    Name = "${var.name}-${each.key}"
  }
}

# Percentiles need `extended_statistic`, and free storage alarms when it falls, so these two
# stand apart from the table above.

resource "aws_cloudwatch_metric_alarm" "api_latency_p99" {
  alarm_name          = "${var.name}-api-latency-p99"
  alarm_description   = "Payments API p99 latency (ms) high"
  namespace           = "AWS/ApiGateway"
  metric_name         = "Latency"
  extended_statistic  = "p99"
  dimensions          = { ApiId = var.api_id, Stage = var.api_stage_name }
  period              = var.alarm_rules["api-latency-p99"].period
  evaluation_periods  = var.alarm_rules["api-latency-p99"].evaluation_periods
  threshold           = var.alarm_rules["api-latency-p99"].threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = {
    Name = "${var.name}-api-latency-p99"
  }
}

resource "aws_cloudwatch_metric_alarm" "rds_free_storage" {
  alarm_name          = "${var.name}-rds-free-storage"
  alarm_description   = "PostgreSQL free storage (bytes) low"
  namespace           = "AWS/RDS"
  metric_name         = "FreeStorageSpace"
  statistic           = "Minimum"
  dimensions          = { DBInstanceIdentifier = var.db_instance_identifier }
  period              = var.alarm_rules["rds-free-storage"].period
  evaluation_periods  = var.alarm_rules["rds-free-storage"].evaluation_periods
  threshold           = var.alarm_rules["rds-free-storage"].threshold
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = {
    Name = "${var.name}-rds-free-storage"
  }
}
