locals {
  account_id    = data.aws_caller_identity.current.account_id
  region        = data.aws_region.current.name
  regional_name = "${var.name}-${local.region}"
  # Where the data bucket's server access logs land inside the region's log bucket.
  access_log_prefix = "data/"
  create_table      = var.table != null
  table_name        = local.create_table ? coalesce(var.table.name, "${var.name}-transactions") : null
  # An adopted table's sort key (a Number); its indexes sort on it as the reference's do.
  sort_key       = local.create_table ? var.table.sort_key : null
  index_sort_key = coalesce(local.sort_key, "createdAt")
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

# ---- Customer-managed keys, one per purpose ----

module "s3_key" {
  source = "../kms-key"

  name        = "${local.regional_name}-s3"
  description = "${local.regional_name} S3 data bucket"
}

# The table's key in its home region, each replica's own key in its region. Every region has
# one, so a region can join a move and leave it without destroying a key that encrypted data.
module "dynamodb_key" {
  source = "../kms-key"

  name        = "${var.name}-dynamodb"
  description = "${var.name} DynamoDB transactions table"
}
