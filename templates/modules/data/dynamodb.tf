# ---- Transactions table ----
# The partition key is transactionId alone, so a conditional put on it makes writes idempotent
# (an adopted table keeps its sort key; the processor then guards each id with an item of its
# own: docs/adoption.md).
# Defined in its home region for good: a global table cannot change its home without being
# recreated, so a region move adds and removes replicas (modules/table-replica) and never moves
# this resource.

resource "aws_dynamodb_table" "transactions" {
  count = local.create_table ? 1 : 0

  name         = local.table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "transactionId"
  range_key    = local.sort_key
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
    name = local.index_sort_key
    type = local.sort_key == null ? "S" : "N"
  }

  global_secondary_index {
    name            = "CustomerIndex"
    hash_key        = "customerId"
    range_key       = local.index_sort_key
    projection_type = "ALL"
  }

  global_secondary_index {
    name            = "StatusIndex"
    hash_key        = "status"
    range_key       = local.index_sort_key
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = module.dynamodb_key.key_arn
  }

  tags = {
    Name = local.table_name
  }

  # Its replicas are resources of their own (modules/table-replica), which carry deletion
  # protection; a `replica` block here would fight them over the same replicas.
  lifecycle {
    ignore_changes = [replica]
  }
}

# The writer record: the one region whose processor takes new payments (docs/failover.md). It
# replicates with the payments, so every region reads the same answer, and a region that comes
# back after `payinfra failover` (which rewrites it without Terraform) learns it was replaced.
resource "aws_dynamodb_table_item" "writer" {
  count = local.create_table ? 1 : 0

  table_name = aws_dynamodb_table.transactions[0].name
  hash_key   = aws_dynamodb_table.transactions[0].hash_key
  range_key  = local.sort_key
  # On an adopted table the record's sort key is 0, as the processor reads it.
  item = jsonencode(merge(
    {
      transactionId = { S = "#writer" }
      writerRegion  = { S = var.table.writer_region }
    },
    local.sort_key == null ? {} : { (local.sort_key) = { N = "0" } },
  ))
}
