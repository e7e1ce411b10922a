# ---- Server access logs of the data bucket ----
#
# One log bucket per region. S3 delivers server access logs only to a bucket encrypted with
# SSE-S3 (not SSE-KMS), and the log bucket cannot log to itself.

resource "aws_s3_bucket" "access_logs" {
  # checkov:skip=CKV_AWS_18:The access-log bucket is the one bucket without an access log of its own; logging it to itself would loop.
  # checkov:skip=CKV_AWS_145:S3 delivers server access logs only to SSE-S3 (AES256) buckets; SSE-KMS targets are not supported.
  # checkov:skip=CKV_AWS_144:Access logs describe this region's bucket and stay in this region; the data itself is replicated.
  bucket = "${local.regional_name}-logs-${local.account_id}"
  # S3 keeps delivering logs until the data bucket is gone, so the log bucket is never empty
  # at destroy time: unprotected environments let Terraform empty it, protected ones never.
  force_destroy = var.access_logs_force_destroy

  tags = {
    Name = "${local.regional_name}-logs"
  }
}

# emulator gap: s3_eventbridge_notifications
resource "aws_s3_bucket_notification" "access_logs" {
  count = var.emulator_compatible ? 0 : 1

  bucket      = aws_s3_bucket.access_logs.id
  eventbridge = true
}

resource "aws_s3_bucket_versioning" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

data "aws_iam_policy_document" "access_logs" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.access_logs.arn, "${aws_s3_bucket.access_logs.arn}/*"]

    # {"AWS": "*"} means every principal, like "*": written so because the local emulator
    # fails to read a bare "*" principal in a log bucket's policy.
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "S3LogDeliveryFromTheDataBucket"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.this.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  policy = data.aws_iam_policy_document.access_logs.json

  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = var.access_log_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.access_logs]
}

resource "aws_s3_bucket_logging" "this" {
  bucket        = aws_s3_bucket.this.id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = local.access_log_prefix

  depends_on = [aws_s3_bucket_policy.access_logs]
}
