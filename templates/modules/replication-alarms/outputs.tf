output "alarm_topic_arn" {
  description = "ARN of the source region's topic the backlog alarms notify."
  value       = aws_sns_topic.replication_alarms.arn
}
