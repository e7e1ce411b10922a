"""The region move at plan level: what each step's YAML renders, checked on the parsed HCL.
The emulator runs (tests/e2e/test_region_move*.py) apply the steps; these cover what it cannot:
table replicas, the API domain and Route 53, and every step's module calls and retirements."""

from __future__ import annotations

import re

import pytest

from payinfra.config import load_environment
from payinfra.plansummary import STATEFUL_TYPES
from payinfra.render import render_environment
from payinfra.render.root import (
    LEGACY_API_DOMAIN_ADDRESSES,
    LEGACY_BUCKET_REPLICATION_ADDRESSES,
    LEGACY_DATABASE_ADDRESSES,
    RETAINED_COMPUTE_RESOURCES,
)
from tests.conftest import ENVIRONMENTS
from tests.hclparse import labelled, parse
from tests.stackfacts import blocks, declared_addresses, moves_in, of_type

A, B = "eu-west-1", "us-east-1"
STEPS = {
    "A only": None,
    "1 standby": {A: "primary", B: "standby"},
    "2 switch": {B: "primary", A: "former"},
    "3 drain": {B: "primary", A: "drained"},
    "B only": {B: "primary"},
}


def rendered(env_dir, workload, **more):
    env_dir.write("dev", {**({"workload": workload} if workload else {}), **more})
    files = render_environment(load_environment(env_dir.path, "dev"))
    return files, labelled(parse(str(files["main.tf"])), "module")


def alias(region: str) -> str:
    return region.replace("-", "_")


@pytest.mark.parametrize("step", list(STEPS))
def test_each_step_places_databases_processors_and_alarms_by_role(env_dir, step):
    workload = STEPS[step] or {A: "primary"}
    _, calls = rendered(env_dir, STEPS[step])
    serving = {r for r, role in workload.items() if role != "drained"}
    assert {c for c in calls if c.startswith("database_")} == {
        f"database_{alias(r)}" for r in workload
    }
    assert {c for c in calls if c.startswith("compute_")} == {
        f"compute_{alias(r)}" for r in serving
    }
    assert {c for c in calls if c.startswith("observability_")} == {
        f"observability_{alias(r)}" for r in serving
    }
    primary = next(r for r, role in workload.items() if role == "primary")
    for region in serving:
        variables = calls[f"compute_{alias(region)}"]["environment_variables"]
        assert variables["WRITER_REGION"] == primary
    # The table never leaves its home (the first target, eu-west-1).
    assert "table" in calls[f"data_{alias(A)}"] and "table" not in calls[f"data_{alias(B)}"]
    replicas = {c.removeprefix("table_replica_") for c in calls if c.startswith("table_replica_")}
    assert replicas == {alias(r) for r in workload} - {alias(A)}
    # The writer record in the home table names the primary (docs/region-moves.md: One writer).
    assert calls[f"data_{alias(A)}"]["table"]["writer_region"] == primary


def test_a_standby_holds_an_encrypted_read_replica_of_the_primary(env_dir):
    _, calls = rendered(env_dir, STEPS["1 standby"])
    replica = calls[f"database_{alias(B)}"]
    assert replica["replicate_source_db"] == f"${{module.database_{alias(A)}.db_instance_arn}}"
    assert "replicate_source_db" not in calls[f"database_{alias(A)}"]
    assert replica["client_security_group_ids"] == [
        f"${{module.compute_{alias(B)}.security_group_id}}"
    ]
    # Its own key in its own region: the database module's kms-key call runs on the module's
    # provider, the standby region's, and the replica's storage is encrypted with it.
    assert replica["providers"] == {"aws": f"${{aws.{alias(B)}}}"}


def test_a_second_generation_takes_names_of_its_own_in_its_region_only(env_dir):
    """A back as B's standby beside the database and processor logs it kept."""
    generations = {"generations": {A: 2}}
    _, calls = rendered(env_dir, {B: "primary", A: "standby"}, **generations)
    standby, primary = calls[f"database_{alias(A)}"], calls[f"database_{alias(B)}"]
    assert standby["name"] == "payment-dev-g2" and primary["name"] == "payment-dev"
    # Its processor's log groups and queue too: the drained processor's are kept in AWS.
    assert calls[f"compute_{alias(A)}"]["name"] == "payment-dev-g2"
    assert calls[f"compute_{alias(B)}"]["name"] == "payment-dev"
    assert standby["replicate_source_db"] == f"${{module.database_{alias(B)}.db_instance_arn}}"
    # Switched back, A's database keeps its generation's names: nothing to replace.
    _, calls = rendered(env_dir, {A: "primary", B: "former"}, **generations)
    assert calls[f"database_{alias(A)}"]["name"] == "payment-dev-g2"


def test_adopted_names_are_kept_in_the_first_generation_only(env_dir):
    adopted = {"adopted": {"database": "payment-db-qa-7", "function": "processor-qa-7"}}
    _, calls = rendered(env_dir, {A: "primary", B: "standby"}, **adopted)
    assert calls[f"database_{alias(A)}"]["identifier"] == "payment-db-qa-7"
    _, calls = rendered(env_dir, {B: "primary", A: "standby"}, **adopted, generations={A: 2})
    assert "identifier" not in calls[f"database_{alias(A)}"]
    assert "function_name" not in calls[f"compute_{alias(A)}"]
    assert calls[f"database_{alias(B)}"]["identifier"] == "payment-db-qa-7"
    assert calls[f"compute_{alias(B)}"]["function_name"] == "processor-qa-7"


def test_a_switch_promotes_the_standby_and_keeps_the_former_primary_standalone(env_dir):
    _, calls = rendered(env_dir, STEPS["2 switch"])
    for region in (A, B):
        assert "replicate_source_db" not in calls[f"database_{alias(region)}"]
    # Rolled back, the same: neither database is ever turned (back) into a replica.
    _, calls = rendered(env_dir, {A: "primary", B: "former"})
    for region in (A, B):
        assert "replicate_source_db" not in calls[f"database_{alias(region)}"]


def test_the_writer_is_updated_after_every_other_serving_region(env_dir):
    _, calls = rendered(env_dir, STEPS["2 switch"])
    assert calls[f"compute_{alias(B)}"]["apply_after"] == [
        f"${{module.compute_{alias(A)}.function_arn}}"
    ]
    assert "apply_after" not in calls[f"compute_{alias(A)}"]


def test_the_primary_bucket_replicates_to_every_other_workload_region(env_dir):
    _, calls = rendered(env_dir, STEPS["2 switch"])
    # us-east-1 is the migration source (to the targets) and now the primary: one rule set.
    assert set(calls[f"bucket_replication_{alias(B)}"]["destinations"]) == {A}
    _, calls = rendered(env_dir, STEPS["1 standby"])
    assert set(calls[f"bucket_replication_{alias(A)}"]["destinations"]) == {B}
    assert set(calls[f"bucket_replication_{alias(B)}"]["destinations"]) == {A}
    _, calls = rendered(env_dir, None)
    assert f"bucket_replication_{alias(A)}" not in calls


def removed_blocks(files) -> list[str]:
    return re.findall(r"removed \{\n  from = (\S+)", str(files["moves.tf"]))


def test_leaving_the_workload_forgets_data_and_never_destroys_it(env_dir):
    files, _ = rendered(env_dir, STEPS["B only"])
    forgotten = removed_blocks(files)
    assert f"module.database_{alias(A)}" in forgotten
    for resource in RETAINED_COMPUTE_RESOURCES:
        assert f"module.compute_{alias(A)}.{resource}" in forgotten
    assert "destroy = false" in str(files["moves.tf"])
    assert "destroy = true" not in str(files["moves.tf"])
    # Nothing the YAML still runs is forgotten.
    assert not [address for address in forgotten if alias(B) in address]


def test_a_standby_that_leaves_keeps_its_table_replica_in_aws(env_dir):
    """Its copy is forgotten like its database, never deleted (it may hold the only copy of a
    payment the home region lost); docs/region-moves.md: Retiring a region."""
    files, calls = rendered(env_dir, STEPS["A only"])
    assert not [name for name in calls if name.startswith("table_replica_")]
    assert f"module.table_replica_{alias(B)}" in removed_blocks(files)


def test_the_emulator_has_no_table_replicas():
    files = render_environment(load_environment(ENVIRONMENTS, "local"))
    calls = labelled(parse(str(files["main.tf"])), "module")
    assert not [name for name in calls if name.startswith("table_replica_")]


def test_retained_processor_resources_are_exactly_its_stateful_ones(parsed):
    stateful = {
        address
        for address in declared_addresses(parsed["dev"], "compute")
        if address.split(".")[-2] in STATEFUL_TYPES
    }
    # ... and each stateful address an earlier release used, which a `moved` block carries.
    legacy = {old for old, new in moves_in(parsed["dev"], "compute").items() if new in stateful}
    assert legacy == {"aws_kms_key.function"}
    assert stateful | legacy == set(RETAINED_COMPUTE_RESOURCES)


def test_upgrade_moves_cover_every_database_resource(parsed, env_dir):
    declared = declared_addresses(parsed["dev"], "database")
    # A legacy address moves to today's, or to where the database module's own `moved` blocks
    # carry it on (its key, now in the kms-key submodule).
    onward = moves_in(parsed["dev"], "database")
    targets = {
        onward.get(target, target)
        for target in ((new or old).split("[")[0] for old, new in LEGACY_DATABASE_ADDRESSES)
    }
    assert targets == declared
    files, _ = rendered(env_dir, None)
    text = str(files["moves.tf"])
    assert "from = module.compute\n  to   = module.compute_eu_west_1" in text
    assert "from = module.data_eu_west_1.aws_db_instance.this[0]" in text


def test_replication_moves_out_of_the_data_modules_to_its_own(parsed):
    """Every resource the data module kept for replication moves, in each replicating region,
    to the bucket-replication module's same resource: an upgrade plans no replacement."""
    declared = declared_addresses(parsed["prod"], "bucket-replication")
    assert {new for _, new in LEGACY_BUCKET_REPLICATION_ADDRESSES} == declared
    moved = {(entry["from"], entry["to"]) for entry in parsed["prod"]["moves.tf"].get("moved", [])}
    for region in (A, B):
        for old, new in LEGACY_BUCKET_REPLICATION_ADDRESSES:
            source = f"${{module.data_{alias(region)}.{old}}}"
            target = f"${{module.bucket_replication_{alias(region)}.{new}}}"
            assert (source, target) in moved


def test_the_custom_domain_moves_out_of_compute_to_its_own_module(parsed):
    declared = declared_addresses(parsed["prod"], "api-domain")
    assert {new for _, new in LEGACY_API_DOMAIN_ADDRESSES} == declared
    moved = {(entry["from"], entry["to"]) for entry in parsed["prod"]["moves.tf"].get("moved", [])}
    for region in (A, B):
        for old, new in LEGACY_API_DOMAIN_ADDRESSES:
            source = f"${{module.compute_{alias(region)}.{old}}}"
            assert (source, f"${{module.api_domain_{alias(region)}.{new}}}") in moved
    assert not any(
        ".api_domain_" in str(entry) for entry in parsed["dev"]["moves.tf"].get("moved", [])
    )


def test_prod_serves_one_domain_from_both_regions_with_failover(parsed):
    calls = labelled(parsed["prod"]["main.tf"], "module")
    dns = calls["dns"]
    assert dns["domain"] == "pay.example.com" and dns["routing"] == "failover"
    assert {region: e["failover"] for region, e in dns["endpoints"].items()} == {
        A: "PRIMARY",
        B: "SECONDARY",
    }
    # Health is each region's own unsigned probe, not an alarm its standby's refusals feed.
    assert dns["endpoints"][B]["health_check"] == (
        f"${{module.compute_{alias(B)}.health_check_target}}"
    )
    (check,) = [
        block.body
        for block in of_type(parsed["prod"], "aws_route53_health_check")
        if block.module == "dns"
    ]
    assert check["type"] == "HTTPS" and check["enable_sni"] is True
    assert check["resource_path"] == "${each.value.health_check.resource_path}"
    (dns_main,) = [d for f, d in parsed["prod"].items() if f == "modules/dns/main.tf"]
    timing = dns_main["locals"][0]
    assert (timing["health_check_interval_seconds"], timing["health_check_failure_threshold"]) == (
        10,
        3,
    )
    for region in (A, B):
        domain = calls[f"api_domain_{alias(region)}"]
        assert domain["domain_name"] == "pay.example.com"
        assert domain["api_id"] == f"${{module.compute_{alias(region)}.api_id}}"
        assert domain["providers"] == {"aws": f"${{aws.{alias(region)}}}"}
        assert dns["endpoints"][region]["target_domain_name"] == (
            f"${{module.api_domain_{alias(region)}.domain_target.name}}"
        )
        # compute reads nothing of dns: the domain module joins them.
        assert not any(
            "module.dns" in str(value) for value in calls[f"compute_{alias(region)}"].values()
        )
    outputs = labelled(parsed["prod"]["outputs.tf"], "output")
    assert outputs["api_url"]["value"] == "${module.dns.api_url}"
    assert outputs["workload"]["value"] == {A: "primary", B: "standby"}


def test_each_region_has_a_tls_custom_domain_and_a_replica_keeps_pitr(parsed):
    tree = parsed["prod"]
    domain = next(b.body for b in blocks(tree) if b.type == "aws_apigatewayv2_domain_name")
    configuration = domain["domain_name_configuration"][0]
    assert configuration["security_policy"] == "TLS_1_2"
    assert configuration["endpoint_type"] == "REGIONAL"
    table = next(b.body for b in blocks(tree) if b.type == "aws_dynamodb_table")
    assert table["stream_enabled"] is True
    assert "dynamic" not in table and "replica" not in table, "replicas are resources of their own"
    assert table["lifecycle"] == [{"ignore_changes": ["replica"]}]
    replica = next(b.body for b in blocks(tree) if b.type == "aws_dynamodb_table_replica")
    assert replica["point_in_time_recovery"] is True
    assert replica["deletion_protection_enabled"] == "${var.deletion_protection}"
    assert replica["kms_key_arn"] == "${var.kms_key_arn}"
    call = labelled(tree["main.tf"], "module")[f"table_replica_{alias(B)}"]
    assert call["deletion_protection"] is True, "prod is protected, and so is its replica"
    assert call["global_table_arn"] == f"${{module.data_{alias(A)}.table_arn}}"
    assert call["kms_key_arn"] == f"${{module.data_{alias(B)}.table_kms_key_arn}}"
    assert call["providers"] == {"aws": f"${{aws.{alias(B)}}}"}


def test_weighted_routing_sends_a_share_to_every_serving_region(env_dir):
    _, calls = rendered(
        env_dir,
        STEPS["1 standby"],
        api={
            "domain": "pay.example.com",
            "hosted_zone_id": "Z123",
            "routing": "weighted",
            "weights": {A: 90, B: 10},
        },
    )
    endpoints = calls["dns"]["endpoints"]
    assert {region: e["weight"] for region, e in endpoints.items()} == {A: 90, B: 10}


@pytest.mark.parametrize(
    ("step", "said"),
    [
        ("A only", "one region: eu-west-1 runs the workload (no move in progress)"),
        ("1 standby", "step 1 (standby added): eu-west-1 is the primary (the only writer); "
                      "standing by: us-east-1"),
        ("2 switch", "step 2 (switched; roll back by swapping primary and former): us-east-1 is "
                     "the primary (the only writer); former primary still serving: eu-west-1"),
        ("3 drain", "step 3 (former primary's processor retired; its data kept): us-east-1 is "
                    "the primary (the only writer); drained: eu-west-1"),
        ("B only", "one region: us-east-1 runs the workload (no move in progress); the table's "
                   "home stays in eu-west-1"),
    ],
)  # fmt: skip
def test_the_plan_names_the_step_the_yaml_describes(env_dir, step, said):
    if STEPS[step]:
        env_dir.write("dev", {"workload": STEPS[step]})
    assert load_environment(env_dir.path, "dev").move_step() == said


def test_the_invoke_policy_names_every_serving_regions_api(parsed, env_dir):
    """A caller keeps working whichever region serves api.domain (docs/processor.md)."""
    outputs = parsed["prod"]["outputs.tf"]
    (document,) = [b["aws_iam_policy_document"]["api_invoke"] for b in outputs["data"]]
    (statement,) = document["statement"]
    assert statement["actions"] == ["execute-api:Invoke"]
    for region in (A, B):
        assert f"module.compute_{alias(region)}.invoke_resource_arns" in statement["resources"]
    (policy,) = [
        o["api_invoke_policy_json"] for o in outputs["output"] if "api_invoke_policy_json" in o
    ]
    assert policy["value"] == "${data.aws_iam_policy_document.api_invoke.json}"
    # A drained region serves nobody: its API is gone, and so is its grant.
    files, _ = rendered(env_dir, STEPS["3 drain"])
    assert f"compute_{alias(A)}" not in str(files["outputs.tf"])
