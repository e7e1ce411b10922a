# A region's data bucket copied to other regions' buckets. A module of its own, called beside the
# data modules it joins, so that no data module reads another region's: each region's modules
# can then live in a root of their own (docs/region-roots.md).

locals {
  account_id    = data.aws_caller_identity.current.account_id
  region        = data.aws_region.current.name
  regional_name = "${var.name}-${local.region}"
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_iam_policy_document" "assume" {
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

data "aws_iam_policy_document" "replicate" {
  statement {
    sid       = "ReadReplicationConfiguration"
    actions   = ["s3:GetReplicationConfiguration", "s3:ListBucket"]
    resources = [var.source_bucket.arn]
  }

  statement {
    sid = "ReadSourceVersions"
    actions = [
      "s3:GetObjectVersionAcl",
      "s3:GetObjectVersionForReplication",
      "s3:GetObjectVersionTagging",
    ]
    resources = ["${var.source_bucket.arn}/*"]
  }

  statement {
    sid       = "WriteReplicas"
    actions   = ["s3:ReplicateDelete", "s3:ReplicateObject", "s3:ReplicateTags"]
    resources = [for destination in values(var.destinations) : "${destination.bucket_arn}/*"]
  }

  statement {
    sid       = "DecryptSourceObjects"
    actions   = ["kms:Decrypt"]
    resources = [var.source_kms_key_arn]
  }

  statement {
    sid       = "EncryptReplicas"
    actions   = ["kms:Encrypt", "kms:GenerateDataKey"]
    resources = [for destination in values(var.destinations) : destination.kms_key_arn]
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
      [var.source_bucket.arn],
      [for destination in values(var.destinations) : destination.bucket_arn],
    )
  }
}

resource "aws_iam_role" "this" {
  # IAM role names are global, and a name_prefix is made unique only inside one provider
  # process: two regions' roles created in one apply (a process per region's provider) can draw
  # the same name at the same instant, so the prefix names the region (at most 38 characters).
  # A role created before keeps its name.
  name_prefix        = "${substr(var.name, 0, 29 - length(local.region))}-${local.region}-s3repl-"
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = {
    Name = "${local.regional_name}-replication"
  }

  lifecycle {
    ignore_changes = [name_prefix]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "replicate-data-bucket"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.replicate.json
}

resource "aws_s3_bucket_replication_configuration" "this" {
  # Both buckets are versioned first: every bucket name and ARN here comes from a data module
  # output that waits for its bucket's versioning.
  bucket = var.source_bucket.name
  role   = aws_iam_role.this.arn

  dynamic "rule" {
    for_each = var.destinations

    content {
      id       = "to-${rule.key}"
      priority = index(keys(var.destinations), rule.key)
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

  depends_on = [aws_iam_role_policy.this]
}
