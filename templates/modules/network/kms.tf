# ---- Log and notification encryption key ----
# One customer-managed key per region for CloudWatch Logs and the alarm topic; the other modules
# in the region take it from this module's outputs.

module "logs_key" {
  source = "../kms-key"

  name        = "${var.name}-logs"
  description = "${var.name} CloudWatch Logs and alarm notifications"
  service_statements = [
    {
      sid     = "CloudWatchLogsUsesKeyForThisAccount"
      service = "logs.${local.region}.amazonaws.com"
      actions = [
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
      ]
      condition = {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:logs:arn"
        values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
      }
    },
    {
      sid       = "CloudWatchAlarmsPublishToEncryptedTopic"
      service   = "cloudwatch.amazonaws.com"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
      condition = { test = "StringEquals", variable = "aws:SourceAccount", values = [local.account_id] }
    },
  ]
}
