"""Table replicas that an earlier payinfra made as `replica` blocks of the table move into their
own resources (which carry deletion protection) by import, never by a create that AWS would
refuse or a destroy that would lose a region's copy."""

from __future__ import annotations

import json

from payinfra.config import load_environment
from payinfra.render import render_environment
from payinfra.tablereplicas import replicas_to_adopt
from tests.conftest import ENVIRONMENTS
from tests.hclparse import parse

A, B = "eu-west-1", "us-east-1"
TABLE = "module.data_eu_west_1"
REPLICA = "module.table_replica_us_east_1.aws_dynamodb_table_replica.this"


def state(*, replica_blocks=(B,), replica_resources=()) -> dict:
    table = {
        "module": TABLE,
        "mode": "managed",
        "type": "aws_dynamodb_table",
        "name": "transactions",
        "instances": [
            {
                "index_key": 0,
                "attributes": {"replica": [{"region_name": r} for r in replica_blocks]},
            }
        ],
    }
    replicas = [
        {"module": f"module.table_replica_{r.replace('-', '_')}", "mode": "managed",
         "type": "aws_dynamodb_table_replica", "name": "this", "instances": [{"attributes": {}}]}
        for r in replica_resources
    ]  # fmt: skip
    return {"version": 4, "resources": [table, *replicas]}


def test_a_replica_block_in_the_state_is_adopted_once():
    prod = load_environment(ENVIRONMENTS, "prod")
    assert replicas_to_adopt(prod, state()) == [B]
    assert replicas_to_adopt(prod, state(replica_resources=(B,))) == [], "already adopted"
    assert replicas_to_adopt(prod, state(replica_blocks=())) == [], "a new replica is created"
    assert replicas_to_adopt(prod, None) == [] and replicas_to_adopt(prod, {}) == []


def test_the_import_names_the_table_and_its_home_region():
    prod = load_environment(ENVIRONMENTS, "prod")
    files = render_environment(prod, [B])
    (block,) = parse(str(files["imports.tf"]))["import"]
    assert block == {"to": f"${{{REPLICA}}}", "id": f"payment-prod-transactions:{A}"}
    assert "imports.tf" not in render_environment(prod)


def test_plan_adopts_the_replicas_of_an_earlier_payinfra(run):
    """dev with a standby, its local state written by a payinfra that kept replica blocks."""
    run.env_dir.write("dev", {"workload": {A: "primary", B: "standby"}})
    root = run.out / "dev"
    root.mkdir(parents=True, exist_ok=True)
    (root / "terraform.tfstate").write_text(json.dumps(state()))
    assert run("plan", "dev").exit_code == 0
    imports = parse((root / "imports.tf").read_text())["import"]
    assert [block["to"] for block in imports] == [f"${{{REPLICA}}}"]
    # Once the state holds the resource, the next render has nothing to import.
    (root / "terraform.tfstate").write_text(json.dumps(state(replica_resources=(B,))))
    assert run("plan", "dev").exit_code == 0
    assert not (root / "imports.tf").exists()


def test_a_plan_that_would_not_render_says_how_to_adopt(run):
    run.env_dir.write("dev", {"workload": {A: "primary", B: "standby"}})
    assert run("render", "dev").exit_code == 0
    (run.out / "dev" / "terraform.tfstate").write_text(json.dumps(state()))
    refused = run("plan", "dev", "--no-render")
    assert refused.exit_code == 3
    assert "plan without --no-render" in refused.output
