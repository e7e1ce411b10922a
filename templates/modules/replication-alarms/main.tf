# ---- Replication backlog, in the source region ----
#
# S3 publishes replication metrics in the source bucket's region, and an alarm can only notify
# a topic in its own region: the alarm and a topic of its own live there. Called once, whatever
# region is primary, so a region move never recreates the topic under the same name.

locals {
  alarm_actions = compact([aws_sns_topic.replication_alarms.arn, var.source_topic_arn])
}

resource "aws_sns_topic" "replication_alarms" {
  name              = "${var.name}-replication-alarms"
  kms_master_key_id = var.kms_key_arn

  tags = {
    Name = "${var.name}-replication-alarms"
  }
}

resource "aws_sns_topic_subscription" "replication_email" {
  for_each = toset(var.alarm_emails)

  topic_arn = aws_sns_topic.replication_alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_cloudwatch_metric_alarm" "replication_backlog" {
  for_each = var.destination_buckets

  alarm_name          = "${var.name}-replication-backlog-${each.key}"
  alarm_description   = "Objects waiting to replicate from the source bucket to ${each.key}"
  namespace           = "AWS/S3"
  metric_name         = "OperationsPendingReplication"
  statistic           = "Maximum"
  dimensions          = { SourceBucket = var.source_bucket, DestinationBucket = each.value, RuleId = "to-${each.key}" }
  period              = var.alarm_rule.period
  evaluation_periods  = var.alarm_rule.evaluation_periods
  threshold           = var.alarm_rule.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = {
    Name = "${var.name}-replication-backlog-${each.key}"
  }
}
