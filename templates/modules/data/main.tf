locals {
  account_id    = data.aws_caller_identity.current.account_id
  partition     = data.aws_partition.current.partition
  region        = data.aws_region.current.name
  regional_name = "${var.name}-${local.region}"
  # Where the data bucket's server access logs land inside the region's log bucket.
  access_log_prefix = "data/"
  create_table      = var.table != null
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

# ---- Customer-managed keys, one per purpose ----
# Key policies hand administration to the account, so IAM policies grant each use; a key policy's
# Resource "*" means "this key".

data "aws_iam_policy_document" "account_key_policy" {
  # checkov:skip=CKV_AWS_109:A key policy's "*" resource is the key itself; only the account root is trusted.
  # checkov:skip=CKV_AWS_111:A key policy's "*" resource is the key itself; only the account root is trusted.
  # checkov:skip=CKV_AWS_356:A key policy's "*" resource is the key itself; only the account root is trusted.
  statement {
    sid       = "AccountAdministersKey"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "s3" {
  description             = "${local.regional_name} S3 data bucket"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.account_key_policy.json

  tags = {
    Name = "${local.regional_name}-s3"
  }
}

resource "aws_kms_alias" "s3" {
  name          = "alias/${local.regional_name}-s3"
  target_key_id = aws_kms_key.s3.key_id
}

# The table's key in its home region, each replica's own key in its region. Every region has
# one, so a region can join a move and leave it without destroying a key that encrypted data.
resource "aws_kms_key" "dynamodb" {
  description             = "${var.name} DynamoDB transactions table"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.account_key_policy.json

  tags = {
    Name = "${var.name}-dynamodb"
  }
}

resource "aws_kms_alias" "dynamodb" {
  name          = "alias/${var.name}-dynamodb"
  target_key_id = aws_kms_key.dynamodb.key_id
}
