# ---- Data bucket ----

resource "aws_s3_bucket" "this" {
  bucket = coalesce(var.bucket_name, "${local.regional_name}-data-${local.account_id}")

  tags = {
    Name = "${local.regional_name}-data"
  }
}

# Object-level events (created, deleted, restored) go to EventBridge, where security tooling can
# alert on a payment file deleted without paying for CloudTrail data events.
# emulator gap: s3_eventbridge_notifications
resource "aws_s3_bucket_notification" "this" {
  count = var.emulator_compatible ? 0 : 1

  bucket      = aws_s3_bucket.this.id
  eventbridge = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = module.s3_key.key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

# ---- Cross-region replication (source bucket only) ----

locals {
  replicates = length(var.replication_destinations) > 0
}

data "aws_iam_policy_document" "replication_assume" {
  statement {
    sid     = "S3AssumesReplicationRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "replication" {
  statement {
    sid       = "ReadReplicationConfiguration"
    actions   = ["s3:GetReplicationConfiguration", "s3:ListBucket"]
    resources = [aws_s3_bucket.this.arn]
  }

  statement {
    sid = "ReadSourceVersions"
    actions = [
      "s3:GetObjectVersionAcl",
      "s3:GetObjectVersionForReplication",
      "s3:GetObjectVersionTagging",
    ]
    resources = ["${aws_s3_bucket.this.arn}/*"]
  }

  statement {
    sid       = "WriteReplicas"
    actions   = ["s3:ReplicateDelete", "s3:ReplicateObject", "s3:ReplicateTags"]
    resources = [for destination in values(var.replication_destinations) : "${destination.bucket_arn}/*"]
  }

  statement {
    sid       = "DecryptSourceObjects"
    actions   = ["kms:Decrypt"]
    resources = [module.s3_key.key_arn]
  }

  statement {
    sid       = "EncryptReplicas"
    actions   = ["kms:Encrypt", "kms:GenerateDataKey"]
    resources = [for destination in values(var.replication_destinations) : destination.kms_key_arn]
  }

  # Explicit, so that no statement added later can let replication delete or re-open a bucket.
  statement {
    sid    = "DenyBucketDeletionAndPolicyChanges"
    effect = "Deny"
    actions = [
      "s3:DeleteBucket",
      "s3:DeleteBucketPolicy",
      "s3:PutBucketAcl",
      "s3:PutBucketPolicy",
      "s3:PutLifecycleConfiguration",
    ]
    resources = concat(
      [aws_s3_bucket.this.arn],
      [for destination in values(var.replication_destinations) : destination.bucket_arn],
    )
  }
}

resource "aws_iam_role" "replication" {
  count = local.replicates ? 1 : 0

  name_prefix        = "${substr(var.name, 0, 24)}-s3repl-"
  assume_role_policy = data.aws_iam_policy_document.replication_assume.json

  tags = {
    Name = "${local.regional_name}-replication"
  }
}

resource "aws_iam_role_policy" "replication" {
  count = local.replicates ? 1 : 0

  name   = "replicate-data-bucket"
  role   = aws_iam_role.replication[0].id
  policy = data.aws_iam_policy_document.replication.json
}

resource "aws_s3_bucket_replication_configuration" "this" {
  count = local.replicates ? 1 : 0

  bucket = aws_s3_bucket.this.id
  role   = aws_iam_role.replication[0].arn

  dynamic "rule" {
    for_each = var.replication_destinations

    content {
      id       = "to-${rule.key}"
      priority = index(keys(var.replication_destinations), rule.key)
      status   = "Enabled"

      filter {}

      delete_marker_replication {
        status = var.emulator_compatible ? "Disabled" : "Enabled" # emulator gap: s3_replication_rule_details
      }

      # emulator gap: s3_replication_rule_details
      dynamic "source_selection_criteria" {
        for_each = var.emulator_compatible ? [] : ["Enabled"]

        content {
          sse_kms_encrypted_objects {
            status = source_selection_criteria.value
          }
        }
      }

      destination {
        bucket        = rule.value.bucket_arn
        storage_class = "STANDARD"

        encryption_configuration {
          replica_kms_key_id = rule.value.kms_key_arn
        }

        # Replication metrics feed the replication-backlog alarm.
        # emulator gap: s3_replication_rule_details
        dynamic "metrics" {
          for_each = var.emulator_compatible ? [] : ["Enabled"]

          content {
            status = metrics.value
          }
        }
      }
    }
  }

  # Both buckets must be versioned first: this bucket's here, each destination's through the
  # destination module's `replica_bucket_arn` output, which depends on its versioning.
  depends_on = [aws_s3_bucket_versioning.this, aws_iam_role_policy.replication]
}
