# ---- A replica of the transactions table in this module's region ----
# A resource of its own, not a `replica` block of the table: only this resource can carry
# deletion protection (the table's replica block has none in provider 5.x), and a region that
# leaves the workload forgets its module call (a `removed` block) instead of deleting the copy.
# emulator gap: dynamodb_global_table_replicas (an emulator environment has no call of this module)

resource "aws_dynamodb_table_replica" "this" {
  global_table_arn            = var.global_table_arn
  kms_key_arn                 = var.kms_key_arn
  point_in_time_recovery      = true
  deletion_protection_enabled = var.deletion_protection

  tags = {
    Name = var.name
  }
}
