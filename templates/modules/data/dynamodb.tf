# ---- Transactions table ----
# The partition key is transactionId alone, so a conditional put on it makes writes idempotent.

resource "aws_dynamodb_table" "transactions" {
  count = local.create_database ? 1 : 0

  name                        = "${var.name}-transactions"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "transactionId"
  deletion_protection_enabled = var.database.deletion_protection

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
    kms_key_arn = aws_kms_key.dynamodb[0].arn
  }

  tags = {
    Name = "${var.name}-transactions"
  }
}
