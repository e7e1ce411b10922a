# ---- The state's own key ----

module "key" {
  source = "../kms-key"

  name        = var.bucket
  name_tag    = "${var.bucket}-key"
  description = "Terraform state of ${var.environment}"
}

# ---- The state bucket ----

resource "aws_s3_bucket" "this" {
  # checkov:skip=CKV_AWS_18:The state bucket's readers are Terraform roles; CloudTrail management and data events audit them.
  # checkov:skip=CKV_AWS_144:State is versioned and guarded by prevent_destroy; replicating it would copy secrets-adjacent data to another region.
  # checkov:skip=CKV2_AWS_62:Nothing consumes events of the state bucket; CloudTrail records who reads or writes state.
  bucket = var.bucket

  tags = {
    Name = var.bucket
  }

  # The state of every environment lives here: Terraform must never delete it.
  lifecycle {
    prevent_destroy = true
  }
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
      kms_master_key_id = module.key.key_arn
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

# emulator gap: s3_state_bucket_tls_policy
resource "aws_s3_bucket_policy" "this" {
  count = var.emulator_compatible ? 0 : 1

  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-noncurrent-state"
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
