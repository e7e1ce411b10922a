"""The secure-by-default properties of the whole stack, read from parsed HCL."""

from __future__ import annotations

import re

import pytest

from payinfra.config import PROTECTED_MIN_RETENTION_DAYS
from tests.conftest import REAL_ENVS
from tests.hclparse import labelled, module_files
from tests.processor_harness import table_spec
from tests.stackfacts import blocks, calls, key_of, of_type, one

SECRET_PATTERNS = [
    re.compile(r"(?i)\bpassword\s*="),
    re.compile(r"(?i)\bsecret(_key)?\s*=\s*\""),
    re.compile(r"AKIA[0-9A-Z]{16}"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"(?i)ChangeMe"),
]

# The only statements allowed a "*" resource, and why AWS leaves no choice.
WILDCARD_RESOURCES_ALLOWED = {
    # xray:PutTraceSegments and PutTelemetryRecords support no resource-level permissions.
    ("compute", "function", "WriteTraces"),
}
STACK_ARN = re.compile(
    r"^\$\{(aws_[a-z0-9_]+(\[[^\]]+\])?\.[a-z0-9_]+\.arn|var\.[a-z_]+(_arn|\.arn)|local\.[a-z_]+_arn|"
    r"module\.([a-z0-9]+_)?key\.key_arn|"
    r"destination\.(bucket_arn|kms_key_arn))\}(/\*|:\*|/index/\*)?$"
    r"|^\$\{aws_apigatewayv2_api\.this\.execution_arn\}/"
)


@pytest.mark.parametrize("env", REAL_ENVS)
def test_no_password_or_secret_anywhere_in_the_output(rendered_roots, env):
    for path in rendered_roots[env].rglob("*"):
        if path.is_file() and path.suffix in {".tf", ".json", ".hcl", ""}:
            text = path.read_text(encoding="utf-8", errors="replace")
            for pattern in SECRET_PATTERNS:
                assert not pattern.search(text), f"{path}: matches {pattern.pattern}"


def test_database_password_is_managed_by_rds_in_secrets_manager(parsed):
    db = one(parsed["dev"], "aws_db_instance", "this", "database")
    assert "password" not in db
    # A read replica has no secret of its own; promoted, it gets one under its own key.
    assert db["manage_master_user_password"] == "${local.is_replica ? null : true}"
    assert db["master_user_secret_kms_key_id"] == "${local.is_replica ? null : module.key.key_id}"
    assert key_of(parsed["dev"], "database", "key")["name"] == "${var.name}-rds"


def test_database_is_encrypted_private_tls_only_and_iam_authenticated(parsed):
    tree = parsed["dev"]
    db = one(tree, "aws_db_instance", "this", "database")
    assert db["storage_encrypted"] is True
    assert db["kms_key_id"] == "${module.key.key_arn}"
    assert db["publicly_accessible"] is False
    assert db["iam_database_authentication_enabled"] is True
    assert db["performance_insights_enabled"] == "${var.emulator_compatible ? false : true}"
    assert db["performance_insights_kms_key_id"] == (
        "${var.emulator_compatible ? null : module.key.key_arn}"
    )
    assert db["auto_minor_version_upgrade"] is True
    assert set(db["enabled_cloudwatch_logs_exports"]) == {"postgresql", "upgrade"}
    group = one(tree, "aws_db_parameter_group", "this", "database")
    (parameters,) = group["dynamic"]
    assert parameters["parameter"]["for_each"] == (
        "${var.emulator_compatible ? {} : local.db_parameters}"
    )
    rds_locals = tree["modules/database/main.tf"]["locals"][0]
    assert rds_locals["db_parameters"]["rds.force_ssl"] == "1"


def test_database_admits_5432_only_from_the_processor_and_the_source_vpc(parsed):
    tree = parsed["dev"]
    rules = [
        b for b in of_type(tree, "aws_vpc_security_group_ingress_rule") if b.module == "database"
    ]
    assert {b.name for b in rules} == {"db_from_clients", "db_from_migration_source"}
    for rule in rules:
        assert (rule.body["from_port"], rule.body["to_port"]) == (5432, 5432)
    database = labelled(tree["main.tf"], "module")["database_eu_west_1"]
    assert database["client_security_group_ids"] == [
        "${module.compute_eu_west_1.security_group_id}"
    ]
    assert database["migration_cidr_blocks"] == ["10.0.0.0/16"]


@pytest.mark.parametrize(
    ("env", "protected", "skip_final_snapshot", "multi_az"),
    [("dev", False, True, False), ("staging", False, False, False), ("prod", True, False, True)],
)
def test_protection_follows_the_environment(parsed, env, protected, skip_final_snapshot, multi_az):
    database = labelled(parsed[env]["main.tf"], "module")["database_eu_west_1"]
    assert database["deletion_protection"] is protected
    assert database["skip_final_snapshot"] is skip_final_snapshot
    assert database["multi_az"] is multi_az
    assert database["engine_version"] != "14.7"
    table = one(parsed[env], "aws_dynamodb_table", "transactions", "data")
    assert table["deletion_protection_enabled"] == "${var.table.deletion_protection}"
    home = labelled(parsed[env]["main.tf"], "module")["data_eu_west_1"]
    assert home["table"]["deletion_protection"] is protected


def test_transactions_table_is_keyed_for_idempotent_writes(parsed):
    """transactionId alone in every shipped environment (no `adopted.table_sort_key`); the
    module's key expressions resolved as Terraform would (tests/processor_harness.py)."""
    table = one(parsed["dev"], "aws_dynamodb_table", "transactions", "data")
    for env in REAL_ENVS:
        home = labelled(parsed[env]["main.tf"], "module")["data_eu_west_1"]
        assert "sort_key" not in home["table"] and "name" not in home["table"]
    spec = table_spec(parsed["dev"])
    assert spec["KeySchema"] == [{"AttributeName": "transactionId", "KeyType": "HASH"}]
    indexes = {index["IndexName"]: index["KeySchema"] for index in spec["GlobalSecondaryIndexes"]}
    assert [key["AttributeName"] for key in indexes["CustomerIndex"]] == ["customerId", "createdAt"]
    assert [key["AttributeName"] for key in indexes["StatusIndex"]] == ["status", "createdAt"]
    # An adopted table keeps the reference's key and indexes: transactionId + timestamp.
    adopted = table_spec(parsed["dev"], sort_key="timestamp")
    assert [key["AttributeName"] for key in adopted["KeySchema"]] == ["transactionId", "timestamp"]
    assert {"AttributeName": "timestamp", "AttributeType": "N"} in adopted["AttributeDefinitions"]
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert table["point_in_time_recovery"] == [{"enabled": True}]
    assert table["server_side_encryption"] == [
        {"enabled": True, "kms_key_arn": "${module.dynamodb_key.key_arn}"}
    ]
    key_of(parsed["dev"], "data", "dynamodb_key")


@pytest.mark.parametrize("env", REAL_ENVS)
def test_every_bucket_blocks_public_access_on_all_four_settings(parsed, env):
    tree = parsed[env]
    buckets = of_type(tree, "aws_s3_bucket")
    blocks_by_bucket = {
        b.body["bucket"]: b.body for b in of_type(tree, "aws_s3_bucket_public_access_block")
    }
    assert buckets
    for bucket in buckets:
        settings = blocks_by_bucket[f"${{aws_s3_bucket.{bucket.name}.id}}"]
        for flag in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        ):
            assert settings[flag] is True, flag


def test_buckets_are_kms_encrypted_versioned_and_tls_only(parsed):
    tree = parsed["dev"]
    (sse,) = one(tree, "aws_s3_bucket_server_side_encryption_configuration", "this", "data")["rule"]
    (default,) = sse["apply_server_side_encryption_by_default"]
    assert default == {"sse_algorithm": "aws:kms", "kms_master_key_id": "${module.s3_key.key_arn}"}
    key_of(tree, "data", "s3_key")
    assert sse["bucket_key_enabled"] is True
    versioning = one(tree, "aws_s3_bucket_versioning", "this", "data")
    assert versioning["versioning_configuration"] == [{"status": "Enabled"}]
    (deny,) = next(
        b.body for b in of_type(tree, "aws_iam_policy_document", "data") if b.name == "bucket"
    )["statement"]
    assert deny["effect"] == "Deny"
    assert deny["condition"] == [
        {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}
    ]


def test_replication_is_kms_aware_and_waits_for_versioning(parsed):
    tree = parsed["dev"]
    replication = one(tree, "aws_s3_bucket_replication_configuration", "this", "bucket-replication")
    assert replication["bucket"] == "${var.source_bucket.name}"
    (rule,) = replication["dynamic"][0]["rule"]["content"]
    details = {name: block for entry in rule["dynamic"] for name, block in entry.items()}
    assert details["source_selection_criteria"]["for_each"] == (
        '${var.emulator_compatible ? [] : ["Enabled"]}'
    )
    assert details["source_selection_criteria"]["content"][0]["sse_kms_encrypted_objects"] == [
        {"status": "${source_selection_criteria.value}"}
    ]
    (destination,) = rule["destination"]
    assert destination["encryption_configuration"] == [
        {"replica_kms_key_id": "${rule.value.kms_key_arn}"}
    ]
    # Both sides exist for replication only once versioned: the data module's output waits for
    # its versioning, and the root hands replication nothing else of a bucket.
    output = labelled(tree["modules/data/outputs.tf"], "output")["versioned_bucket"]
    assert output["depends_on"] == ["${aws_s3_bucket_versioning.this}"]
    (call,) = [c for name, c in labelled(tree["main.tf"], "module").items()
               if name.startswith("bucket_replication_")]  # fmt: skip
    assert call["source_bucket"] == "${module.data_us_east_1.versioned_bucket}"
    assert call["destinations"] == {
        "eu-west-1": {
            "bucket_arn": "${module.data_eu_west_1.versioned_bucket.arn}",
            "kms_key_arn": "${module.data_eu_west_1.s3_kms_key_arn}",
        }
    }


@pytest.mark.parametrize("env", REAL_ENVS)
def test_every_log_group_is_kms_encrypted_with_retention(parsed, env):
    groups = of_type(parsed[env], "aws_cloudwatch_log_group")
    # Flow logs, RDS exports (one block, for_each), the function, API access logs.
    assert {group.name for group in groups} == {"flow_log", "db", "function", "api_access"}
    for group in groups:
        assert group.body["kms_key_id"].startswith("${"), group.name
        assert group.body["retention_in_days"].startswith("${var."), group.name


def test_every_log_group_of_prod_keeps_a_year(parsed):
    """checkov enforces CKV_AWS_338 (a year of retention) in prod, but cannot resolve the
    variables of every module call there (it stops at a call that reads another region's, such
    as the standby database reading the primary's ARN): the value every root call passes to
    each log group is pinned here."""
    main = labelled(parsed["prod"]["main.tf"], "module")
    checked = 0
    for group in of_type(parsed["prod"], "aws_cloudwatch_log_group"):
        variable = re.fullmatch(r"\$\{var\.(\w+)\}", group.body["retention_in_days"])[1]
        for call in main.values():
            if call["source"] == f"./modules/{group.module}":
                assert call[variable] >= PROTECTED_MIN_RETENTION_DAYS, (group.module, variable)
                checked += 1
    assert checked == 8  # flow logs, function, API access, database exports: in two regions


@pytest.mark.parametrize("env", REAL_ENVS)
def test_every_iam_policy_resource_is_an_arn_of_this_stack(parsed, env):
    wildcards = set()
    for document in of_type(parsed[env], "aws_iam_policy_document", "data"):
        # A document made only of others (source_policy_documents) has no statement of its own;
        # the documents it joins are data sources of this stack, checked here too.
        for statement in document.body.get("statement", []):
            resources = statement.get("resources", [])
            if isinstance(resources, str):  # a `for` expression over this stack's ARNs
                assert "_arn" in resources and '"*"' not in resources, resources
                continue
            for resource in resources:
                if resource == "*":
                    wildcards.add((document.module, document.name, statement["sid"]))
                else:
                    assert STACK_ARN.match(resource), (document.name, statement["sid"], resource)
    assert wildcards == WILDCARD_RESOURCES_ALLOWED


def test_processor_may_query_the_table_and_its_indexes(parsed):
    (policy,) = [
        b.body
        for b in of_type(parsed["dev"], "aws_iam_policy_document", "data")
        if b.module == "compute" and b.name == "function"
    ]
    statements = {statement["sid"]: statement for statement in policy["statement"]}
    dynamodb = statements["ReadWriteTransactions"]
    assert "dynamodb:Query" in dynamodb["actions"]
    assert dynamodb["resources"] == ["${local.table_arn}", "${local.table_arn}/index/*"]
    # The copy in the module's own region, from its own account and the table's name: a
    # processor reads no other region's module.
    (main,) = [d for f, d in parsed["dev"].items() if f == "modules/compute/main.tf"]
    assert main["locals"][0]["table_arn"] == (
        "arn:${local.partition}:dynamodb:${data.aws_region.current.name}:"
        "${data.aws_caller_identity.current.account_id}:table/${var.table_name}"
    )
    for call in labelled(parsed["prod"]["main.tf"], "module").values():
        if call["source"] == "./modules/compute":
            assert call["table_name"] == "payment-prod-transactions"
            assert call["environment_variables"]["TABLE_NAME"] == "payment-prod-transactions"
    assert statements["WriteOwnLogGroup"]["resources"] == [
        "${aws_cloudwatch_log_group.function.arn}:*"
    ]


def test_processor_runs_in_private_subnets_with_tracing_and_encrypted_settings(parsed):
    tree = parsed["dev"]
    function = one(tree, "aws_lambda_function", "this", "compute")
    assert function["runtime"] == "python3.12"
    assert function["tracing_config"] == [{"mode": "Active"}]
    assert function["kms_key_arn"] == "${module.key.key_arn}"
    key_of(tree, "compute", "key")
    dynamic = {name: block for entry in function["dynamic"] for name, block in entry.items()}
    assert dynamic["dead_letter_config"]["for_each"] == (
        "${var.emulator_compatible ? [] : [aws_sqs_queue.dead_letter.arn]}"
    )
    assert function["source_code_hash"] == "${filebase64sha256(var.package_path)}"
    assert "${aws_cloudwatch_log_group.function}" in function["depends_on"]
    compute = labelled(tree["main.tf"], "module")["compute_eu_west_1"]
    assert compute["subnet_ids"] == "${values(module.network_eu_west_1.private_subnet_ids)}"
    assert not any("SECRET" in key or "PASSWORD" in key for key in compute["environment_variables"])


def test_every_route_requires_iam_authorization_by_default(parsed):
    tree = parsed["dev"]
    route = one(tree, "aws_apigatewayv2_route", "this", "compute")
    assert route["authorization_type"] == '${var.jwt == null ? "AWS_IAM" : "JWT"}'
    assert "jwt" not in labelled(tree["main.tf"], "module")["compute_eu_west_1"]
    # The one open route is the health probe's: GET /health, throttled on its own, and not
    # among the routes a caller's invoke policy grants.
    routes = {block.name: block.body for block in of_type(tree, "aws_apigatewayv2_route")}
    assert set(routes) == {"this", "health"}
    assert routes["health"]["authorization_type"] == "NONE"
    (main,) = [d for f, d in tree.items() if f == "modules/compute/main.tf"]
    local = main["locals"][0]
    assert local["health_route"] == {"route_key": "GET /health", "arn_path": "GET/health"}
    assert all("health" not in key for key in local["routes"])
    stage = one(tree, "aws_apigatewayv2_stage", "this", "compute")
    (throttle,) = stage["route_settings"]
    assert throttle["route_key"] == "${aws_apigatewayv2_route.health.route_key}"
    assert throttle["throttling_rate_limit"] <= 5


def test_lambda_permission_is_scoped_to_this_apis_execution_arn(parsed):
    permission = one(parsed["dev"], "aws_lambda_permission", "api", "compute")
    # One permission per route the function serves: the payment routes and the health probe's.
    assert permission["for_each"] == "${merge(local.routes, {health = local.health_route})}"
    assert permission["source_arn"] == (
        "${aws_apigatewayv2_api.this.execution_arn}/*/${each.value.arn_path}"
    )
    assert permission["principal"] == "apigateway.amazonaws.com"


def test_stage_logs_access_as_json_and_throttles(parsed):
    stage = one(parsed["dev"], "aws_apigatewayv2_stage", "this", "compute")
    (settings,) = stage["default_route_settings"]
    assert settings["throttling_burst_limit"] == "${var.throttling_burst_limit}"
    assert settings["throttling_rate_limit"] == "${var.throttling_rate_limit}"
    (logs,) = stage["access_log_settings"]
    assert logs["format"].startswith("${jsonencode(")


@pytest.mark.parametrize("env", REAL_ENVS)
def test_every_alarm_notifies_the_alarm_topic(parsed, env):
    alarms = of_type(parsed[env], "aws_cloudwatch_metric_alarm")
    assert alarms
    expected = {
        # Each region's alarms notify payinfra's own topic there, and the YAML's topic if any.
        "observability": "${compact([aws_sns_topic.alarms.arn, var.alarm_topic_arn])}",
        "replication-alarms": (
            "${compact([aws_sns_topic.replication_alarms.arn, var.source_topic_arn])}"
        ),
    }
    for module, actions in expected.items():
        locals_ = {}
        for path, document in parsed[env].items():
            if path.startswith(f"modules/{module}/"):
                for block in document.get("locals", []):
                    locals_.update(block)
        assert locals_["alarm_actions"] == actions, module
    for alarm in alarms:
        assert alarm.body["alarm_actions"] == "${local.alarm_actions}", alarm.name
        assert alarm.body["ok_actions"] == alarm.body["alarm_actions"], alarm.name
        assert alarm.body["dimensions"], alarm.name


def test_alarm_table_covers_the_required_signals(parsed):
    document = parsed["dev"]["modules/observability/alarms.tf"]
    alarms = document["locals"][0]["alarms"]
    metrics = {(alarm["namespace"], alarm["metric"]) for alarm in alarms.values()}
    assert metrics >= {
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/ApiGateway", "5xx"),
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/RDS", "DatabaseConnections"),
        ("AWS/DynamoDB", "ReadThrottleEvents"),
        ("AWS/DynamoDB", "WriteThrottleEvents"),
    }
    for alarm in alarms.values():
        assert alarm["dimensions"]
    standalone = {b.name for b in of_type(parsed["dev"], "aws_cloudwatch_metric_alarm")}
    assert {"api_latency_p99", "rds_free_storage"} <= standalone


def test_every_dashboard_metric_carries_its_dimensions(parsed):
    document = parsed["dev"]["modules/observability/main.tf"]
    widgets = document["locals"][0]["dashboard_widgets"]
    assert len(widgets) == 4
    for widget in widgets:
        for metric in widget["metrics"]:
            namespace, name, *rest = metric
            assert isinstance(rest[-1], dict)
            dimensions = rest[:-1]
            assert dimensions and len(dimensions) % 2 == 0, (namespace, name)
            for value in dimensions[1::2]:
                assert value.startswith("${var."), (namespace, name, value)


def test_alarm_topic_is_kms_encrypted(parsed):
    topic = one(parsed["dev"], "aws_sns_topic", "alarms", "observability")
    assert topic["kms_master_key_id"] == "${var.kms_key_arn}"


def test_key_policies_trust_the_account_and_scope_each_service(parsed):
    """Every key comes from kms-key, whose policy ("*" there means "this key") trusts only the
    account root, and each AWS service only under a condition."""
    tree = parsed["dev"]
    (locals_,) = [d["locals"][0] for f, d in tree.items() if f == "modules/kms-key/main.tf"]
    root = locals_["account_administers_key"]
    assert root["Principal"] == {"AWS": "arn:${local.partition}:iam::${local.account_id}:root"}
    service = locals_["service_statements"]  # a `for` expression over the typed input
    assert "Principal = {Service = statement.service}" in service
    assert "Condition = {(statement.condition.test)" in service
    (variable,) = [
        v["service_statements"]
        for d in module_files(tree, "kms-key").values()
        for v in d.get("variable", [])
        if "service_statements" in v
    ]
    assert 'contains(s.actions, "kms:*")' in variable["validation"][0]["condition"]
    for module in ("network", "data", "database", "compute"):
        assert all(c["source"] == "../kms-key" for c in calls(tree, module).values())
    assert {block.module for block in of_type(tree, "aws_kms_key")} == {"kms-key"}


@pytest.mark.parametrize("env", REAL_ENVS)
def test_every_kms_key_rotates(parsed, env):
    for key in of_type(parsed[env], "aws_kms_key"):
        assert key.body["enable_key_rotation"] is True, key.name


@pytest.mark.parametrize("env", REAL_ENVS)
def test_every_taggable_resource_has_a_name_tag(parsed, env):
    untaggable = {
        "aws_route",
        "aws_route_table_association",
        "aws_kms_alias",
        "aws_iam_role_policy",
        "aws_iam_role_policy_attachment",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_logging",
        "aws_s3_bucket_notification",
        "aws_s3_bucket_replication_configuration",
        "aws_vpc_peering_connection_options",
        "aws_apigatewayv2_integration",
        "aws_apigatewayv2_route",
        "aws_apigatewayv2_authorizer",
        "aws_lambda_permission",
        "aws_dynamodb_table_item",
        "aws_sns_topic_subscription",
        "aws_cloudwatch_dashboard",
        "aws_acm_certificate_validation",
        "aws_apigatewayv2_api_mapping",
        "aws_route53_record",
        "terraform_data",
    }
    for block in blocks(parsed[env]):
        if block.type not in untaggable:
            tags = block.body.get("tags", {})
            if tags == "${local.tags}":
                tags = parsed[env][block.file]["locals"][0]["tags"]
            assert "Name" in tags, f"{block.module}: {block.type}.{block.name}"


def test_jwt_authorizer_replaces_iam_when_the_yaml_names_an_issuer(env_dir):
    from payinfra.config import load_environment
    from payinfra.render import render_environment
    from tests.hclparse import parse

    jwt = {"issuer": "https://idp.example.com/", "audience": ["payments-api"]}
    env_dir.write("dev", {"api": {"jwt": jwt}})
    files = render_environment(load_environment(env_dir.path, "dev"))
    compute = labelled(parse(files["main.tf"]), "module")["compute_eu_west_1"]
    assert compute["jwt"] == {"issuer": jwt["issuer"], "audience": jwt["audience"]}
    authorizer = parse(files["modules/compute/api.tf"])["resource"]
    (jwt_block,) = [
        b["aws_apigatewayv2_authorizer"]["jwt"]
        for b in authorizer
        if "aws_apigatewayv2_authorizer" in b
    ]
    assert jwt_block["count"] == "${var.jwt == null ? 0 : 1}"
    assert jwt_block["authorizer_type"] == "JWT"
