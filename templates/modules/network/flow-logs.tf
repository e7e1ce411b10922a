locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  # var.name is the environment's name prefix and the region (the flow log role's prefix
  # shortens the first, never the second).
  name_without_region = trimsuffix(var.name, "-${local.region}")
  flow_log_arn        = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/vpc-flow-logs/${var.name}"
}

# ---- Flow logs ----

resource "aws_cloudwatch_log_group" "flow_log" {
  name              = "/aws/vpc-flow-logs/${var.name}"
  retention_in_days = var.flow_log_retention_days
  kms_key_id        = module.logs_key.key_arn

  tags = {
    Name = "${var.name}-flow-logs"
  }
}

data "aws_iam_policy_document" "flow_log_assume" {
  statement {
    sid     = "VpcFlowLogsAssumesRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "flow_log" {
  statement {
    sid = "WriteOwnLogGroupOnly"
    actions = [
      "logs:CreateLogStream",
      "logs:DescribeLogStreams",
      "logs:PutLogEvents",
    ]
    resources = ["${local.flow_log_arn}:*"]
  }
}

resource "aws_iam_role" "flow_log" {
  # IAM role names are global, and a name_prefix is made unique only inside one provider
  # process: two regions' roles created in one apply (a process per region's provider) can draw
  # the same name at the same instant, so the prefix keeps the region whatever the length of
  # the rest (at most 38 characters). A role created before keeps its name.
  name_prefix        = "${substr(local.name_without_region, 0, 28 - length(local.region))}-${local.region}-flowlog-"
  assume_role_policy = data.aws_iam_policy_document.flow_log_assume.json

  tags = {
    Name = "${var.name}-flow-log"
  }

  lifecycle {
    ignore_changes = [name_prefix]
  }
}

resource "aws_iam_role_policy" "flow_log" {
  name   = "write-flow-logs"
  role   = aws_iam_role.flow_log.id
  policy = data.aws_iam_policy_document.flow_log.json
}

resource "aws_flow_log" "this" {
  vpc_id                   = aws_vpc.this.id
  traffic_type             = "ALL"
  log_destination_type     = "cloud-watch-logs"
  log_destination          = aws_cloudwatch_log_group.flow_log.arn
  iam_role_arn             = aws_iam_role.flow_log.arn
  max_aggregation_interval = 60

  tags = {
    Name = "${var.name}-flow-log"
  }
}
