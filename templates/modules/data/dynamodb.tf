# ---- Transactions table ----
# The partition key is transactionId alone, so a conditional put on it makes writes idempotent.
# Defined in its home region for good: a global table cannot change its home without being
# recreated, so a region move adds and removes replicas and never moves this resource.

resource "aws_dynamodb_table" "transactions" {
  count = local.create_table ? 1 : 0

  name         = "${var.name}-transactions"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "transactionId"
  # Global-table replication reads the stream.
  stream_enabled              = true
  stream_view_type            = "NEW_AND_OLD_IMAGES"
  deletion_protection_enabled = var.table.deletion_protection

  attribute {
    name = "transactionId"
    type = "S"
  }

  attribute {
    name = "customerId"
    type = "S"
  }

  attribute {
    name = "status"
    type = "S"
  }

  attribute {
    name = "createdAt"
    type = "S"
  }

  global_secondary_index {
    name            = "CustomerIndex"
    hash_key        = "customerId"
    range_key       = "createdAt"
    projection_type = "ALL"
  }

  global_secondary_index {
    name            = "StatusIndex"
    hash_key        = "status"
    range_key       = "createdAt"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = module.dynamodb_key.key_arn
  }

  # emulator gap: dynamodb_global_table_replicas
  dynamic "replica" {
    for_each = var.emulator_compatible ? {} : var.table.replicas

    content {
      region_name            = replica.key
      kms_key_arn            = replica.value.kms_key_arn
      point_in_time_recovery = true
      propagate_tags         = true
    }
  }

  tags = {
    Name = "${var.name}-transactions"
  }
}
