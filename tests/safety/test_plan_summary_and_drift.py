"""`payinfra bootstrap`'s root, the plan summary from `terraform plan -json`'s stream, and the
drift report, on rendered HCL and crafted terraform JSON (the emulator end-to-end test runs
all three for real)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from payinfra.cli import main
from payinfra.config import load_environment
from payinfra.plansummary import StreamSummary, drift, summarize
from payinfra.render import render_bootstrap
from tests.conftest import plan_json
from tests.hclparse import labelled, parse

S3_BACKEND = {"type": "s3", "bucket": "acme-payments-state", "region": "us-east-1"}


@pytest.fixture
def bootstrap_files(env_dir):
    env_dir.write(
        "dev",
        {"backend": S3_BACKEND, "aws": {"account_id": "222222222222",
                                        "role_arn": "arn:aws:iam::222222222222:role/state"}},
    )  # fmt: skip
    return render_bootstrap(load_environment(env_dir.path, "dev"))


def test_the_bootstrap_root_creates_the_bucket_the_backend_names(bootstrap_files):
    # The state bucket's module and the kms-key submodule it calls for its key.
    expected = [
        "backend.tf",
        "main.tf",
        "providers.tf",
        "versions.tf",
        "modules/state-bucket/migrations.tf",
    ]
    expected += [f"modules/{module}/{name}.tf" for module in ("kms-key", "state-bucket")
                 for name in ("main", "outputs", "variables", "versions")]  # fmt: skip
    assert sorted(bootstrap_files) == sorted(expected)
    call = labelled(parse(str(bootstrap_files["main.tf"])), "module")["state_bucket"]
    assert call["bucket"] == "acme-payments-state" and call["environment"] == "dev"
    assert "emulator_compatible" not in call
    (provider,) = parse(str(bootstrap_files["providers.tf"]))["provider"]
    assert provider["aws"]["region"] == "us-east-1"
    assert provider["aws"]["allowed_account_ids"] == ["222222222222"]
    assert provider["aws"]["assume_role"][0]["role_arn"] == "arn:aws:iam::222222222222:role/state"
    # Its own state stays beside it: a local backend.
    assert parse(str(bootstrap_files["backend.tf"]))["terraform"][0]["backend"] == [{"local": {}}]


def test_the_state_bucket_is_private_encrypted_versioned_and_never_destroyed(bootstrap_files):
    module = parse(str(bootstrap_files["modules/state-bucket/main.tf"]))
    resources = {
        (kind, name): body
        for block in module["resource"]
        for kind, named in block.items()
        for name, body in named.items()
    }
    bucket = resources[("aws_s3_bucket", "this")]
    assert bucket["lifecycle"] == [{"prevent_destroy": True}]
    versioning = resources[("aws_s3_bucket_versioning", "this")]
    assert versioning["versioning_configuration"] == [{"status": "Enabled"}]
    (rule,) = resources[("aws_s3_bucket_server_side_encryption_configuration", "this")]["rule"]
    assert rule["apply_server_side_encryption_by_default"] == [
        {"sse_algorithm": "aws:kms", "kms_master_key_id": "${module.key.key_arn}"}
    ]
    block = resources[("aws_s3_bucket_public_access_block", "this")]
    assert all(block[key] is True for key in block if key != "bucket")
    key = labelled(module, "module")["key"]
    assert key["source"] == "../kms-key" and key["name"] == "${var.bucket}"
    kms_key = parse(str(bootstrap_files["modules/kms-key/main.tf"]))["resource"]
    assert [
        b["aws_kms_key"]["this"]["enable_key_rotation"] for b in kms_key if "aws_kms_key" in b
    ] == [True]
    lifecycle = resources[("aws_s3_bucket_lifecycle_configuration", "this")]
    assert lifecycle["rule"][0]["noncurrent_version_expiration"] == [
        {"noncurrent_days": "${var.noncurrent_version_expiration_days}"}
    ]
    (policy,) = [b["aws_iam_policy_document"]["bucket"] for b in module["data"]
                 if "bucket" in b.get("aws_iam_policy_document", {})]  # fmt: skip
    (tls,) = policy["statement"]
    assert tls["effect"] == "Deny" and tls["condition"][0]["variable"] == "aws:SecureTransport"


def test_bootstrap_needs_an_s3_backend(env_dir, tmp_path):
    result = CliRunner().invoke(
        main, ["bootstrap", "dev", "--environments-dir", str(env_dir.path), "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "backend.type is local; bootstrap creates the bucket of an s3 backend" in result.output


# ---- The summary from the stream equals the summary from the plan file ----


def stream_of(plan: dict) -> list[dict]:
    """What `terraform plan -json` prints for the changes of `plan` (as terraform 1.11 does)."""
    actions = {
        ("create",): "create",
        ("update",): "update",
        ("delete",): "delete",
        ("delete", "create"): "replace",
        ("create", "delete"): "replace",
        ("read",): "read",
    }
    messages = []
    for change in plan["resource_changes"]:
        module = change.get("module_address", "")
        resource = change["address"].removeprefix(module + ".") if module else change["address"]
        messages.append({"type": "planned_change", "change": {
            "resource": {"addr": change["address"], "module": module, "resource": resource,
                         "resource_type": change["type"]},
            "action": actions[tuple(change["change"]["actions"])]}})  # fmt: skip
    return [{"type": "version"}, *messages, {"type": "change_summary"}]


@pytest.mark.parametrize(
    "changes",
    [
        [("module.compute", "aws_lambda_function", ["create"])],
        [("module.data_eu_west_1", "aws_dynamodb_table", ["delete", "create"]),
         ("module.data_eu_west_1", "aws_s3_bucket", ["create", "delete"]),
         ("module.network_us_east_1", "aws_vpc", ["update"]),
         ("module.observability", "aws_sqs_queue", ["delete"]),
         ("", "aws_cloudwatch_log_group", ["delete"])],
    ],
)  # fmt: skip
def test_the_stream_summary_is_the_plan_files_summary(changes):
    plan = json.loads(plan_json(*changes))
    for change in plan["resource_changes"]:
        if not change["module_address"]:
            del change["module_address"]
            change["address"] = change["address"].removeprefix(".")
    streamed = StreamSummary()
    for message in stream_of(plan):
        streamed.add(message)
    assert streamed.result().as_json() == summarize(plan).as_json()


def test_data_source_reads_are_not_changes():
    streamed = StreamSummary()
    streamed.add({"type": "planned_change", "change": {"action": "read", "resource": {
        "addr": "data.aws_region.current", "module": "", "resource": "data.aws_region.current",
        "resource_type": "aws_region"}}})  # fmt: skip
    assert not streamed.result().has_changes


@pytest.mark.parametrize(
    "change",
    [
        {"action": "update", "importing": {"id": "payment-db-dev-001"}},
        {"action": "import", "importing": {"id": "vpc-1"}},
    ],
    ids=["imported and updated", "imported as it is"],
)
def test_a_plan_that_imports_is_known_to_import(change):
    """An adoption's first plan runs over an empty state with databases that have a past:
    `payinfra plan` then asks the plan file instead of trusting the empty state."""
    streamed = StreamSummary()
    resource = {
        "addr": "module.database_eu_west_1.aws_db_instance.this",
        "module": "m",
        "resource": "aws_db_instance.this",
        "resource_type": "aws_db_instance",
    }
    streamed.add({"type": "planned_change", "change": {"action": "create", "resource": resource}})
    assert not streamed.imports
    streamed.add({"type": "planned_change", "change": {**change, "resource": resource}})
    assert streamed.imports


# ---- Drift ----


def test_drift_names_each_resource_and_attribute_changed_outside_terraform():
    plan = {"resource_drift": [
        {"address": "module.network_eu_west_1.aws_vpc.this", "mode": "managed",
         "change": {"before": {"tags": {"Name": "x"}, "cidr_block": "10.1.0.0/16"},
                    "after": {"tags": {"Name": "x", "Owner": "console"},
                              "cidr_block": "10.1.0.0/16"}}},
        {"address": "module.data_eu_west_1.aws_dynamodb_table.transactions[0]", "mode": "managed",
         "change": {"before": {"point_in_time_recovery": [{"enabled": True}]},
                    "after": {"point_in_time_recovery": [{"enabled": False}]}}},
        {"address": "module.compute.aws_sqs_queue.dead_letter", "mode": "managed",
         "change": {"before": {"name": "q"}, "after": None}},
        {"address": "data.aws_region.current", "mode": "data",
         "change": {"before": {}, "after": {}}},
    ]}  # fmt: skip
    assert [(d.address, d.attributes) for d in drift(plan)] == [
        ("module.compute.aws_sqs_queue.dead_letter", ["(deleted)"]),
        ("module.data_eu_west_1.aws_dynamodb_table.transactions[0]",
         ["point_in_time_recovery[0].enabled"]),
        ("module.network_eu_west_1.aws_vpc.this", ["tags.Owner"]),
    ]  # fmt: skip


def test_attributes_the_configuration_does_not_set_are_not_drift():
    # Right after an apply, a bucket's computed `versioning` (set by aws_s3_bucket_versioning)
    # shows as changed in a refresh-only plan: that is not someone's change in the console.
    configuration = {"root_module": {"module_calls": {"data_eu_west_1": {"module": {
        "resources": [{"address": "aws_s3_bucket.this", "mode": "managed",
                       "expressions": {"bucket": {"references": ["local.name"]},
                                       "tags": {"references": ["local.name"]}}}]}}}}}  # fmt: skip
    bucket = "module.data_eu_west_1.aws_s3_bucket.this"
    plan = {"configuration": configuration, "resource_drift": [{
        "address": bucket, "mode": "managed",
        "change": {"before": {"versioning": [{"enabled": False}], "tags": {"Name": "b"}},
                   "after": {"versioning": [{"enabled": True}],
                             "tags": {"Name": "b"}}}}]}  # fmt: skip
    assert drift(plan) == []
    # ...nor is a nested setting the configuration leaves to AWS.
    sse = "module.data_eu_west_1.aws_s3_bucket_server_side_encryption_configuration.this"
    configuration["root_module"]["module_calls"]["data_eu_west_1"]["module"]["resources"].append(
        {"address": "aws_s3_bucket_server_side_encryption_configuration.this", "mode": "managed",
         "expressions": {"rule": [{"apply_server_side_encryption_by_default": [
             {"sse_algorithm": {"constant_value": "AES256"}}]}]}}
    )  # fmt: skip
    plan["resource_drift"].append({"address": sse, "mode": "managed", "change": {
        "before": {"rule": [{"bucket_key_enabled": None}]},
        "after": {"rule": [{"bucket_key_enabled": False}]}}})  # fmt: skip
    assert drift(plan) == []
    plan["resource_drift"][1]["change"]["after"] = {"rule": [{"bucket_key_enabled": False,
        "apply_server_side_encryption_by_default": [{"sse_algorithm": "aws:kms"}]}]}  # fmt: skip
    plan["resource_drift"][1]["change"]["before"]["rule"][0][
        "apply_server_side_encryption_by_default"] = [{"sse_algorithm": "AES256"}]  # fmt: skip
    assert [(d.address, d.attributes) for d in drift(plan)] == [
        (sse, ["rule[0].apply_server_side_encryption_by_default[0].sse_algorithm"])
    ]
    del plan["resource_drift"][1]
    plan["resource_drift"][0]["change"]["after"]["tags"] = {"Name": "b", "Owner": "console"}
    assert [(d.address, d.attributes) for d in drift(plan)] == [(bucket, ["tags.Owner"])]


def test_no_drift_is_an_empty_report():
    assert drift({"resource_drift": []}) == [] and drift({}) == []


# ---- Drift that widens access: rules and policies in AWS that no configuration grants ----

DB_GROUP, FUNCTION_GROUP = "sg-0db", "sg-0fn"


def group(address: str, group_id: str, ingress=(), egress=(), kind="aws_security_group") -> dict:
    values = {"id": group_id, "ingress": list(ingress), "egress": list(egress)}
    return {"address": address, "mode": "managed", "type": kind, "values": values}


def entry(protocol: str, low: int, high: int, cidrs=(), groups=(), self=False) -> dict:
    return {"protocol": protocol, "from_port": low, "to_port": high, "cidr_blocks": list(cidrs),
            "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": list(groups),
            "self": self, "description": ""}  # fmt: skip


def rule(kind: str, address: str, group_id: str, protocol: str, low, high, **peer) -> dict:
    return {"address": address, "mode": "managed", "type": kind,
            "values": {"security_group_id": group_id, "ip_protocol": protocol,
                       "from_port": low, "to_port": high, **peer}}  # fmt: skip


def refreshed(*resources: dict) -> dict:
    """A refresh-only plan with no attribute drift, its refreshed state holding `resources`."""
    return {"prior_state": {"values": {"root_module": {"child_modules": [
        {"address": "module.m", "resources": list(resources)}]}}}}  # fmt: skip


MANAGED = [
    group("module.m.aws_security_group.db", DB_GROUP,
          ingress=[entry("tcp", 5432, 5432, groups=[f"123456789012/{FUNCTION_GROUP}"])]),
    rule("aws_vpc_security_group_ingress_rule", "module.m.aws_vpc_security_group_ingress_rule.in",
         DB_GROUP, "tcp", 5432, 5432, referenced_security_group_id=FUNCTION_GROUP),
    group("module.m.aws_security_group.function", FUNCTION_GROUP,
          egress=[entry("-1", 0, 0, cidrs=["10.2.0.0/16"])]),
    rule("aws_vpc_security_group_egress_rule", "module.m.aws_vpc_security_group_egress_rule.out",
         FUNCTION_GROUP, "-1", None, None, cidr_ipv4="10.2.0.0/16"),
    group("module.m.aws_default_security_group.this", "sg-0default",
          kind="aws_default_security_group"),
]  # fmt: skip


def test_rules_that_managed_rule_resources_describe_are_not_drift():
    assert drift(refreshed(*MANAGED)) == []


def test_rules_opened_in_the_console_are_drift_wherever_they_live():
    state = refreshed(*MANAGED)
    resources = state["prior_state"]["values"]["root_module"]["child_modules"][0]["resources"]
    database, _, function, _, default = resources
    # EC2 groups peers of the same ports into one entry: the console's 0.0.0.0/0 joins ours.
    database["values"]["ingress"][0]["cidr_blocks"] = ["0.0.0.0/0"]
    function["values"]["egress"].append(entry("-1", 0, 0, cidrs=["0.0.0.0/0"]))
    default["values"]["ingress"] = [entry("-1", 0, 0, cidrs=["0.0.0.0/0"], self=True)]
    assert [(d.address, d.attributes) for d in drift(state)] == [
        ("module.m.aws_default_security_group.this",
         ["ingress: all traffic from 0.0.0.0/0 (in AWS, in no configuration)",
          "ingress: all traffic from sg-0default (in AWS, in no configuration)"]),
        ("module.m.aws_security_group.db",
         ["ingress: tcp port 5432 from 0.0.0.0/0 (in AWS, in no configuration)"]),
        ("module.m.aws_security_group.function",
         ["egress: all traffic to 0.0.0.0/0 (in AWS, in no configuration)"]),
    ]  # fmt: skip


def test_a_group_whose_configuration_sets_its_rules_inline_is_left_to_ordinary_drift():
    inline = group("module.m.aws_security_group.legacy", "sg-0legacy",
                   ingress=[entry("tcp", 443, 443, cidrs=["10.0.0.0/8"])])  # fmt: skip
    plan = refreshed(inline)
    plan["configuration"] = {"root_module": {"module_calls": {"m": {"module": {"resources": [
        {"address": "aws_security_group.legacy", "mode": "managed",
         "expressions": {"ingress": {"constant_value": []}}}]}}}}}  # fmt: skip
    assert drift(plan) == []


def test_a_policy_attached_to_a_role_in_the_console_is_drift():
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    vpc_access = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
    role = {"address": "module.m.aws_iam_role.function", "mode": "managed", "type": "aws_iam_role",
            "values": {"name": "fn", "managed_policy_arns": [vpc_access, admin],
                       "inline_policy": [{"name": "fn", "policy": "{}"},
                                         {"name": "debug", "policy": "{}"}]}}  # fmt: skip
    attachment = {"address": "module.m.aws_iam_role_policy_attachment.vpc", "mode": "managed",
                  "type": "aws_iam_role_policy_attachment",
                  "values": {"role": "fn", "policy_arn": vpc_access}}  # fmt: skip
    inline = {"address": "module.m.aws_iam_role_policy.fn", "mode": "managed",
              "type": "aws_iam_role_policy", "values": {"role": "fn", "name": "fn"}}  # fmt: skip
    assert [(d.address, d.attributes) for d in drift(refreshed(role, attachment, inline))] == [
        ("module.m.aws_iam_role.function",
         ["inline_policy: debug (in AWS, in no configuration)",
          f"managed_policy_arns: {admin} attached (in AWS, in no configuration)"]),
    ]  # fmt: skip
