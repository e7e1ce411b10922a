"""Private and audited by default, on the parsed HCL of every environment: AWS APIs over VPC
endpoints and no internet egress, explicit denies, server access logs, alarms that reach
someone, and DATA LOSS for every kind of resource that holds data."""

from __future__ import annotations

import json

import pytest

from payinfra.config import ALARM_DEFAULTS, load_environment
from payinfra.plansummary import STATEFUL_TYPES, summarize
from payinfra.render import render_environment
from tests.config.test_validation_errors import assert_rejected, render
from tests.conftest import ENVIRONMENTS, REAL_ENVS
from tests.hclparse import labelled, parse
from tests.stackfacts import of_type, one

# ---- VPC endpoints and egress ----


def test_gateway_endpoints_are_on_every_private_route_table(parsed):
    endpoint = one(parsed["dev"], "aws_vpc_endpoint", "gateway", "network")
    assert endpoint["vpc_endpoint_type"] == "Gateway"
    assert endpoint["route_table_ids"] == "${[for table in aws_route_table.private : table.id]}"
    services = next(block for block in parsed["dev"]["modules/network/endpoints.tf"]["locals"])[
        "gateway_endpoint_services"
    ]
    assert services == '${toset(["dynamodb", "s3"])}'


def test_interface_endpoints_have_private_dns_and_accept_https_from_the_vpc_only(parsed):
    endpoint = one(parsed["prod"], "aws_vpc_endpoint", "interface", "network")
    assert endpoint["private_dns_enabled"] is True
    assert endpoint["subnet_ids"] == "${[for subnet in aws_subnet.private : subnet.id]}"
    assert endpoint["security_group_ids"] == ["${aws_security_group.endpoints[0].id}"]
    rule = one(parsed["prod"], "aws_vpc_security_group_ingress_rule", "endpoints_https", "network")
    assert (rule["from_port"], rule["to_port"], rule["ip_protocol"]) == (443, 443, "tcp")
    assert rule["cidr_ipv4"] == "${aws_vpc.this.cidr_block}"
    services = parsed["prod"]["modules/network/endpoints.tf"]["locals"][0]
    for service in ("kms", "logs", "secretsmanager", "sqs", "sts", "xray"):
        assert f'"{service}"' in services["interface_endpoint_services"]


@pytest.mark.parametrize("env", REAL_ENVS)
def test_internet_egress_exists_only_without_interface_endpoints(parsed, env):
    environment = load_environment(ENVIRONMENTS, env)
    calls = labelled(parsed[env]["main.tf"], "module")
    for region in environment.regions:
        network = calls[f"network_{region.alias}"]
        assert network["interface_endpoints"] is environment.network.interface_endpoints
    assert calls["compute_eu_west_1"]["private_aws_access"] == (
        f"${{module.network_{environment.primary.alias}.private_aws_access}}"
    )
    # The switch is a literal in the root, as YAML says, so a static scanner evaluates it
    # (a module output it cannot, and would report the internet rule where none exists).
    for region in environment.serving:
        compute = calls[f"compute_{region.alias}"]
        assert compute["interface_endpoints"] is environment.network.interface_endpoints
    rules = of_type(parsed[env], "aws_vpc_security_group_egress_rule")
    to_internet = [r for r in rules if r.body.get("cidr_ipv4") in ("0.0.0.0/0", "::/0")]
    assert [r.name for r in to_internet] == ["internet_https"]
    # ...and that one rule exists only when the environment has no interface endpoints.
    assert to_internet[0].body["count"] == "${var.interface_endpoints ? 0 : 1}"
    for group in of_type(parsed[env], "aws_security_group"):
        assert "egress" not in group.body, f"{group.name}: inline rules hide from this check"


# ---- Explicit denies ----


def statements(tree: dict, module: str, document: str) -> list[dict]:
    (policy,) = [
        block.body
        for block in of_type(tree, "aws_iam_policy_document", "data")
        if block.module == module and block.name == document
    ]
    return policy["statement"]


def test_the_processor_may_never_delete_payments_or_reshape_the_table(parsed):
    (deny,) = [
        s
        for s in statements(parsed["dev"], "compute", "function")
        if s.get("sid") == "DenyDeletingPaymentsOrTheTable"
    ]
    assert deny["effect"] == "Deny"
    assert {"dynamodb:DeleteTable", "dynamodb:DeleteItem", "dynamodb:UpdateTable"} <= set(
        deny["actions"]
    )
    assert deny["resources"] == ["${local.table_arn}", "${local.table_arn}/index/*"]


def test_the_processor_may_never_write_the_writer_record(parsed):
    """Only Terraform and `payinfra failover` say which region writes (docs/failover.md)."""
    (deny,) = [
        s
        for s in statements(parsed["dev"], "compute", "function")
        if s.get("sid") == "DenyClaimingTheWriterRecord"
    ]
    assert deny["effect"] == "Deny"
    assert set(deny["actions"]) == {"dynamodb:PutItem", "dynamodb:UpdateItem"}
    assert deny["resources"] == ["${local.table_arn}"]
    (condition,) = deny["condition"]
    assert condition == {
        "test": "ForAnyValue:StringEquals",
        "variable": "dynamodb:LeadingKeys",
        "values": ["#writer"],
    }


def test_replication_may_never_delete_a_bucket_or_change_its_policy(parsed):
    (deny,) = [
        s for s in statements(parsed["dev"], "bucket-replication", "replicate") if s.get("effect")
    ]
    assert deny["effect"] == "Deny"
    assert {"s3:DeleteBucket", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"} <= set(
        deny["actions"]
    )
    # This bucket and every replica bucket.
    assert deny["resources"] == (
        "${concat([var.source_bucket.arn], [for destination in "
        "values(var.destinations) : destination.bucket_arn])}"
    )


# ---- Access logs ----


@pytest.mark.parametrize("env", REAL_ENVS)
def test_each_data_bucket_logs_to_its_regions_log_bucket(parsed, env):
    logging = one(parsed[env], "aws_s3_bucket_logging", "this", "data")
    assert logging["bucket"] == "${aws_s3_bucket.this.id}"
    assert logging["target_bucket"] == "${aws_s3_bucket.access_logs.id}"
    tree = parsed[env]
    sse = one(tree, "aws_s3_bucket_server_side_encryption_configuration", "access_logs", "data")
    (rule,) = sse["rule"]
    assert rule["apply_server_side_encryption_by_default"] == [{"sse_algorithm": "AES256"}]
    versioning = one(tree, "aws_s3_bucket_versioning", "access_logs", "data")
    assert versioning["versioning_configuration"] == [{"status": "Enabled"}]
    block = one(tree, "aws_s3_bucket_public_access_block", "access_logs", "data")
    blocks = ("block_public_acls", "block_public_policy", "ignore_public_acls")
    assert all(block[key] is True for key in (*blocks, "restrict_public_buckets"))
    tls, delivery = statements(tree, "data", "access_logs")
    assert tls["effect"] == "Deny" and tls["condition"][0]["values"] == ["false"]
    assert delivery["principals"][0]["identifiers"] == ["logging.s3.amazonaws.com"]
    lifecycle = one(tree, "aws_s3_bucket_lifecycle_configuration", "access_logs", "data")
    assert lifecycle["rule"][0]["expiration"] == [{"days": "${var.access_log_retention_days}"}]
    days = load_environment(ENVIRONMENTS, env).storage.access_log_retention_days
    for name, call in labelled(tree["main.tf"], "module").items():
        if name.startswith("data_"):
            assert call["access_log_retention_days"] == days


# ---- Alarms ----


def test_every_alarm_takes_its_settings_from_yaml(env_dir):
    env_dir.write(
        "dev",
        {"alarms": {"rules": {"rds-connections": {"threshold": 400}, "dlq-depth": {
            "evaluation_periods": 2, "period_seconds": 120}}}},
    )  # fmt: skip
    files = render_environment(load_environment(env_dir.path, "dev"))
    rules = labelled(parse(str(files["main.tf"])), "module")["observability_eu_west_1"][
        "alarm_rules"
    ]
    assert set(rules) == set(ALARM_DEFAULTS)
    assert rules["rds-connections"] == {"threshold": 400, "period": 60, "evaluation_periods": 3}
    assert rules["dlq-depth"] == {"threshold": 1, "period": 120, "evaluation_periods": 2}


def test_the_dead_letter_queue_and_the_replication_backlog_are_alarmed(parsed):
    alarms = parsed["dev"]["modules/observability/alarms.tf"]["locals"][0]["alarms"]
    assert alarms["dlq-depth"]["dimensions"] == {"QueueName": "${var.dead_letter_queue_name}"}
    backlog = one(
        parsed["dev"], "aws_cloudwatch_metric_alarm", "replication_backlog", "replication-alarms"
    )
    assert backlog["metric_name"] == "OperationsPendingReplication"
    assert backlog["for_each"] == "${var.destination_buckets}"
    # Called once, in the source region, whichever region is primary.
    call = labelled(parsed["dev"]["main.tf"], "module")["replication_alarms"]
    assert call["providers"] == {"aws": "${aws.us_east_1}"}


@pytest.mark.parametrize(
    ("alarms", "expected"),
    [
        ({}, "alarms.emails: a protected environment's alarms must reach someone"),
        (
            {"topic_arn": "arn:aws:sns:eu-west-1:111122223333:pager"},
            "alarms.source_topic_arn: the replication-backlog alarm runs in the source region",
        ),
        (
            {"emails": ["oncall@example.com"], "topic_arn": "arn:aws:sns:us-east-1:111122223333:p"},
            "alarms.topic_arn: must be a topic in a region that runs the processor (eu-west-1)",
        ),
    ],
)
def test_a_protected_environments_alarms_must_reach_someone(env_dir, tmp_path, alarms, expected):
    env_dir.write(
        "dev",
        {
            "protected": True,
            "logs": {"retention_days": 365},
            "network": {"flow_log_retention_days": 365},
            "storage": {"access_log_retention_days": 365},
            "alarms": alarms,
        },
    )
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, expected)


def test_a_protected_environment_keeps_access_logs_a_year(env_dir, tmp_path):
    prod = (ENVIRONMENTS / "prod.yaml").read_text().replace("access_log_retention_days: 365", "")
    env_dir.write("prod", prod)
    result, out = render(env_dir, tmp_path, env="prod")
    assert_rejected(result, out, "storage.access_log_retention_days: a protected environment")


# ---- DATA LOSS ----


@pytest.mark.parametrize("resource_type", sorted(STATEFUL_TYPES))
@pytest.mark.parametrize("actions", [["delete"], ["delete", "create"], ["create", "delete"]])
def test_destroying_or_replacing_any_stateful_type_is_data_loss(resource_type, actions):
    plan = {"resource_changes": [{
        "address": f"module.x.{resource_type}.this", "module_address": "module.x",
        "mode": "managed", "type": resource_type, "name": "this", "change": {"actions": actions},
    }]}  # fmt: skip
    assert summarize(json.loads(json.dumps(plan))).stateful_losses == [
        f"module.x.{resource_type}.this"
    ]


def test_the_audit_trail_dead_letters_and_secrets_are_stateful():
    assert {"aws_cloudwatch_log_group", "aws_sqs_queue", "aws_secretsmanager_secret"} <= (
        STATEFUL_TYPES
    )


@pytest.mark.parametrize("env", REAL_ENVS)
def test_only_unprotected_environments_may_destroy_access_logs(parsed, env):
    protected = load_environment(ENVIRONMENTS, env).protected
    for name, call in labelled(parsed[env]["main.tf"], "module").items():
        if name.startswith("data_"):
            assert call["access_logs_force_destroy"] is not protected
