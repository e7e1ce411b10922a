# A customer-managed key with rotation, its alias, and a key policy that hands administration to
# the account: IAM policies then grant each use. AWS services that use the key on the account's
# behalf (CloudWatch Logs, alarms) get a statement each through `service_statements`.
#
# A key policy's Resource "*" means "this key". The policy is written as itself, not as an IAM
# policy document: scanners read a document's "*" as "every resource", which for a key policy is
# false, and every key would need three scanner skips saying so.

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  account_administers_key = {
    Sid       = "AccountAdministersKey"
    Effect    = "Allow"
    Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
    Action    = "kms:*"
    Resource  = "*"
  }
  service_statements = [
    for statement in var.service_statements : {
      Sid       = statement.sid
      Effect    = "Allow"
      Principal = { Service = statement.service }
      Action    = statement.actions
      Resource  = "*"
      Condition = { (statement.condition.test) = { (statement.condition.variable) = statement.condition.values } }
    }
  ]
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  deletion_window_in_days = var.deletion_window_in_days
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = concat([local.account_administers_key], local.service_statements)
  })

  tags = {
    Name = coalesce(var.name_tag, var.name)
  }
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}
