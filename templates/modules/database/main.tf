locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  # An adopted database keeps its identifier and subnet group (neither can be renamed in place).
  db_identifier = coalesce(var.identifier, "${var.name}-db")
  # A read replica takes its engine, database, user and secret from its source; promoting it
  # (replicate_source_db set to null) makes it standalone in place, with these settings.
  is_replica = var.replicate_source_db != null

  db_parameters = {
    "rds.force_ssl"              = "1"
    "log_statement"              = "ddl"
    "log_min_duration_statement" = "1000"
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

# ---- Key for storage, the master secret and Performance Insights ----

module "key" {
  source = "../kms-key"

  name        = "${var.name}-rds"
  description = "${var.name} RDS storage, master secret and Performance Insights"
}

# ---- Network placement ----

resource "aws_db_subnet_group" "this" {
  name       = coalesce(var.subnet_group_name, local.db_identifier)
  subnet_ids = var.subnet_ids

  tags = {
    Name = "${var.name}-db"
  }
}

resource "aws_security_group" "db" {
  name        = "${var.name}-db"
  description = "PostgreSQL: 5432 from the payment processor and the migration source VPC only"
  vpc_id      = var.vpc_id

  tags = {
    Name = "${var.name}-db"
  }
}

# Counted, not keyed: the client group ids are unknown until those groups exist.
resource "aws_vpc_security_group_ingress_rule" "db_from_clients" {
  count = length(var.client_security_group_ids)

  security_group_id            = aws_security_group.db.id
  description                  = var.emulator_compatible ? null : "PostgreSQL from the payment processor" # emulator gap: security_group_rule_description
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = var.client_security_group_ids[count.index]

  tags = {
    Name = "${var.name}-db-from-processor"
  }
}

resource "aws_vpc_security_group_ingress_rule" "db_from_migration_source" {
  for_each = toset(var.migration_cidr_blocks)

  security_group_id = aws_security_group.db.id
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
  name_prefix = "${var.name}-pg-"
  family      = var.parameter_group_family
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
  for_each = toset(["postgresql", "upgrade"])

  name              = "/aws/rds/instance/${local.db_identifier}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn

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
  # IAM role names are global, and a name_prefix is made unique only inside one provider
  # process: two regions' roles created in one apply (a process per region's provider) can draw
  # the same name at the same instant, so the prefix names the region (at most 38 characters).
  # A role created before keeps its name.
  name_prefix        = "${substr(var.name, 0, 29 - length(local.region))}-${local.region}-rdsmon-"
  assume_role_policy = data.aws_iam_policy_document.rds_monitoring_assume.json

  tags = {
    Name = "${var.name}-rds-monitoring"
  }

  lifecycle {
    ignore_changes = [name_prefix]
  }
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

# ---- Instance ----
# No password anywhere: RDS generates it and keeps it in Secrets Manager under the RDS key.

resource "aws_db_instance" "this" {
  # checkov:skip=CKV2_AWS_69:rds.force_ssl=1 is in the parameter group's dynamic block, which checkov does not evaluate.
  identifier          = local.db_identifier
  replicate_source_db = var.replicate_source_db
  engine              = local.is_replica ? null : "postgres"
  engine_version      = local.is_replica ? null : var.engine_version
  instance_class      = var.instance_class

  # A major upgrade (e.g. 16 -> 17) needs this and the new family's parameter group.
  allow_major_version_upgrade = var.allow_major_version_upgrade
  # Without it RDS applies a new class, version, storage or parameter group in the maintenance
  # window; `payinfra plan` names each change that waits.
  apply_immediately  = var.apply_immediately
  maintenance_window = var.maintenance_window
  backup_window      = var.backup_window

  db_name                             = local.is_replica ? null : var.db_name
  username                            = local.is_replica ? null : var.master_username
  manage_master_user_password         = local.is_replica ? null : true
  master_user_secret_kms_key_id       = local.is_replica ? null : module.key.key_id
  iam_database_authentication_enabled = true

  allocated_storage     = var.allocated_storage_gb
  max_allocated_storage = var.max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = module.key.key_arn

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.db.id]
  parameter_group_name   = aws_db_parameter_group.this.name
  publicly_accessible    = false
  multi_az               = var.multi_az

  backup_retention_period = var.backup_retention_days
  copy_tags_to_snapshot   = true
  deletion_protection     = var.deletion_protection
  # A replica has no snapshot of its own to take: its data lives on in its source.
  skip_final_snapshot       = local.is_replica || var.skip_final_snapshot
  final_snapshot_identifier = local.is_replica || var.skip_final_snapshot ? null : "${local.db_identifier}-final"

  auto_minor_version_upgrade      = true
  enabled_cloudwatch_logs_exports = ["postgresql", "upgrade"]
  performance_insights_enabled    = var.emulator_compatible ? false : true # emulator gap: rds_performance_insights
  performance_insights_kms_key_id = var.emulator_compatible ? null : module.key.key_arn
  monitoring_interval             = 60
  monitoring_role_arn             = aws_iam_role.rds_monitoring.arn

  tags = {
    Name = local.db_identifier
  }

  depends_on = [aws_cloudwatch_log_group.db, aws_iam_role_policy_attachment.rds_monitoring]
}
