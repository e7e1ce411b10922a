locals {
  db_identifier = "${var.name}-db"

  db_parameters = {
    "rds.force_ssl"              = "1"
    "log_statement"              = "ddl"
    "log_min_duration_statement" = "1000"
  }
}

# ---- Network placement ----

resource "aws_db_subnet_group" "this" {
  count = local.create_database ? 1 : 0

  name       = "${var.name}-db"
  subnet_ids = var.database.subnet_ids

  tags = {
    Name = "${var.name}-db"
  }
}

resource "aws_security_group" "db" {
  count = local.create_database ? 1 : 0

  name        = "${var.name}-db"
  description = "PostgreSQL: 5432 from the payment processor and the migration source VPC only"
  vpc_id      = var.database.vpc_id

  tags = {
    Name = "${var.name}-db"
  }
}

# Counted, not keyed: the client group ids are unknown until those groups exist.
resource "aws_vpc_security_group_ingress_rule" "db_from_clients" {
  count = local.create_database ? length(var.database.client_security_group_ids) : 0

  security_group_id            = aws_security_group.db[0].id
  description                  = var.emulator_compatible ? null : "PostgreSQL from the payment processor" # emulator gap: security_group_rule_description
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = var.database.client_security_group_ids[count.index]

  tags = {
    Name = "${var.name}-db-from-processor"
  }
}

resource "aws_vpc_security_group_ingress_rule" "db_from_migration_source" {
  for_each = local.create_database ? toset(var.database.migration_cidr_blocks) : toset([])

  security_group_id = aws_security_group.db[0].id
  description       = "PostgreSQL from the source region over the peering, for the migration"
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = each.value

  tags = {
    Name = "${var.name}-db-from-migration-source"
  }
}

# ---- Parameters: TLS only, slow-query logging ----

resource "aws_db_parameter_group" "this" {
  count = local.create_database ? 1 : 0

  name_prefix = "${var.name}-pg-"
  family      = var.database.parameter_group_family
  description = "${var.name}: force TLS, log DDL and slow statements"

  # DDL and slow statements only: logging every statement would copy payment data into logs.
  # emulator gap: rds_parameters
  dynamic "parameter" {
    for_each = var.emulator_compatible ? {} : local.db_parameters

    content {
      name  = parameter.key
      value = parameter.value
    }
  }

  tags = {
    Name = "${var.name}-db"
  }

  lifecycle {
    create_before_destroy = true
  }
}

# ---- Log groups, created first so RDS never makes unencrypted ones of its own ----

resource "aws_cloudwatch_log_group" "db" {
  for_each = local.create_database ? toset(["postgresql", "upgrade"]) : toset([])

  name              = "/aws/rds/instance/${local.db_identifier}/${each.key}"
  retention_in_days = var.database.log_retention_days
  kms_key_id        = var.database.logs_kms_key_arn

  tags = {
    Name = "${local.db_identifier}-${each.key}"
  }
}

# ---- Enhanced monitoring ----

data "aws_iam_policy_document" "rds_monitoring_assume" {
  statement {
    sid     = "RdsMonitoringAssumesRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "rds_monitoring" {
  count = local.create_database ? 1 : 0

  name_prefix        = "${substr(var.name, 0, 24)}-rdsmon-"
  assume_role_policy = data.aws_iam_policy_document.rds_monitoring_assume.json

  tags = {
    Name = "${var.name}-rds-monitoring"
  }
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  count = local.create_database ? 1 : 0

  role       = aws_iam_role.rds_monitoring[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

# ---- Instance ----
# No password anywhere: RDS generates it and keeps it in Secrets Manager under the RDS key.

resource "aws_db_instance" "this" {
  count = local.create_database ? 1 : 0

  identifier     = local.db_identifier
  engine         = "postgres"
  engine_version = var.database.engine_version
  instance_class = var.database.instance_class

  # A major upgrade (e.g. 16 -> 17) needs this and the new family's parameter group.
  allow_major_version_upgrade = var.database.allow_major_version_upgrade

  db_name                             = var.database.db_name
  username                            = var.database.master_username
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = aws_kms_key.rds[0].key_id
  iam_database_authentication_enabled = true

  allocated_storage     = var.database.allocated_storage_gb
  max_allocated_storage = var.database.max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.rds[0].arn

  db_subnet_group_name   = aws_db_subnet_group.this[0].name
  vpc_security_group_ids = [aws_security_group.db[0].id]
  parameter_group_name   = aws_db_parameter_group.this[0].name
  publicly_accessible    = false
  multi_az               = var.database.multi_az

  backup_retention_period   = var.database.backup_retention_days
  copy_tags_to_snapshot     = true
  deletion_protection       = var.database.deletion_protection
  skip_final_snapshot       = var.database.skip_final_snapshot
  final_snapshot_identifier = var.database.skip_final_snapshot ? null : "${local.db_identifier}-final"

  auto_minor_version_upgrade      = true
  enabled_cloudwatch_logs_exports = ["postgresql", "upgrade"]
  performance_insights_enabled    = var.emulator_compatible ? false : true # emulator gap: rds_performance_insights
  performance_insights_kms_key_id = var.emulator_compatible ? null : aws_kms_key.rds[0].arn
  monitoring_interval             = 60
  monitoring_role_arn             = aws_iam_role.rds_monitoring[0].arn

  tags = {
    Name = local.db_identifier
  }

  depends_on = [aws_cloudwatch_log_group.db, aws_iam_role_policy_attachment.rds_monitoring]
}
