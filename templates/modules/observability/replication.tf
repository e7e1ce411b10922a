# ---- Replication backlog, in the source region ----
#
# S3 publishes replication metrics in the source bucket's region, and an alarm can only notify
# a topic in its own region: the alarm and a topic of its own live there. One module (the
# primary region's) carries them.

locals {
  replication_alarm_actions = var.replication == null ? [] : compact([aws_sns_topic.replication_alarms[0].arn, var.replication.source_topic_arn])
}

resource "aws_sns_topic" "replication_alarms" {
  provider = aws.source
  count    = var.replication != null ? 1 : 0

  name              = "${var.name}-replication-alarms"
  kms_master_key_id = var.replication.kms_key_arn

  tags = {
    Name = "${var.name}-replication-alarms"
  }
}

resource "aws_sns_topic_subscription" "replication_email" {
  provider = aws.source
  for_each = var.replication != null ? toset(var.alarm_emails) : toset([])

  topic_arn = aws_sns_topic.replication_alarms[0].arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_cloudwatch_metric_alarm" "replication_backlog" {
  provider = aws.source
  for_each = var.replication != null ? var.replication.destination_buckets : {}

  alarm_name          = "${var.name}-replication-backlog-${each.key}"
  alarm_description   = "Objects waiting to replicate from the source bucket to ${each.key}"
  namespace           = "AWS/S3"
  metric_name         = "OperationsPendingReplication"
  statistic           = "Maximum"
  dimensions          = { SourceBucket = var.replication.source_bucket, DestinationBucket = each.value, RuleId = "to-${each.key}" }
  period              = var.alarm_rules["replication-backlog"].period
  evaluation_periods  = var.alarm_rules["replication-backlog"].evaluation_periods
  threshold           = var.alarm_rules["replication-backlog"].threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.replication_alarm_actions
  ok_actions          = local.replication_alarm_actions

  tags = {
    Name = "${var.name}-replication-backlog-${each.key}"
  }
}
