"""The destructive misuse cases with the real terraform, on throwaway roots of `terraform_data`
resources with local state: the refused commands provably destroy nothing."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from payinfra import writer
from payinfra.cli import main
from payinfra.terraform import find_plugin_dir
from tests.conftest import FAKE_ACCOUNT, protect
from tests.toolchain import terraform, terraform_binary

pytestmark = pytest.mark.terraform


def throwaway_root(name: str, protected: bool) -> dict[str, str]:
    """Two resources that live only in local state, and the identity output payinfra reads."""
    return {
        "main.tf": (
            'resource "terraform_data" "ledger" {\n  input = "precious"\n}\n\n'
            'resource "terraform_data" "audit" {\n  input = "also precious"\n}\n\n'
            'output "payinfra_environment" {\n'
            f'  value = {{ name = "{name}", protected = {str(protected).lower()} }}\n}}\n'
        )
    }


@pytest.fixture
def cli(env_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PAYINFRA_TERRAFORM", terraform_binary())
    monkeypatch.setenv("CHECKPOINT_DISABLE", "1")
    # Throwaway roots with local state, which payinfra refuses on a CI runner.
    monkeypatch.delenv("CI", raising=False)
    out = tmp_path / "out"

    def invoke(*args: str, input: str | None = None):
        command, env, *rest = args
        options = ["--environments-dir", str(env_dir.path), "--out", str(out)]
        return CliRunner().invoke(main, [command, env, *options, *rest], input=input)

    def applied(name: str, protected: bool = False):
        """Root `out/<name>` holding a throwaway root, initialised, planned and applied."""
        writer.write_tree(throwaway_root(name, protected), out / name)
        for step in (["init", name], ["plan", name], ["apply", name, "--auto-approve"]):
            result = invoke(step[0], step[1], "--no-render", *step[2:])
            assert result.exit_code == 0, (step, result.output)
        assert resources(out / name) == ["terraform_data.audit", "terraform_data.ledger"]
        return out / name

    invoke.applied, invoke.out = applied, out
    return invoke


def resources(root) -> list[str]:
    return sorted(terraform(root, "state", "list").stdout.split())


def test_apply_cannot_be_turned_into_a_destroy(cli):
    root = cli.applied("dev")
    assert cli("plan", "dev", "--no-render").exit_code == 0
    result = cli("apply", "dev", "--no-render", "--", "-auto-approve", "-destroy", "-backup")
    assert result.exit_code == 2, result.output
    assert resources(root) == ["terraform_data.audit", "terraform_data.ledger"]


def test_destroy_cannot_be_pointed_at_another_environments_state(cli):
    other = cli.applied("staging")
    cli.applied("dev")
    state = str(other / "terraform.tfstate")
    result = cli("destroy", "dev", "--no-render", "--auto-approve", "--", f"-state={state}")
    assert result.exit_code == 2, result.output
    assert resources(other) == ["terraform_data.audit", "terraform_data.ledger"]


def test_a_destroy_plan_swapped_in_after_review_is_not_applied(cli):
    root = cli.applied("dev")
    assert cli("plan", "dev", "--no-render").exit_code == 0
    terraform(root, "plan", "-destroy", "-input=false", "-out=plan.tfplan")
    result = cli("apply", "dev", "--no-render")
    assert result.exit_code == 3, result.output
    assert "was replaced after `payinfra plan`" in result.output
    assert resources(root) == ["terraform_data.audit", "terraform_data.ledger"]


def test_a_protected_state_is_not_destroyed_by_an_unprotected_yaml(cli):
    root = cli.applied("dev", protected=True)
    (root / ".payinfra-protection.json").unlink()  # as in a fresh checkout: only the state knows
    result = cli("destroy", "dev", "--no-render", "--auto-approve")
    assert result.exit_code == 3, result.output
    assert "the state of dev is protected" in result.output
    assert resources(root) == ["terraform_data.audit", "terraform_data.ledger"]


def test_a_plan_over_a_protected_state_with_unprotected_yaml_is_refused(cli):
    root = cli.applied("dev", protected=True)
    (root / ".payinfra-protection.json").unlink()
    result = cli("plan", "dev", "--no-render")
    assert result.exit_code == 3, result.output
    assert not (root / "plan.tfplan").exists()


# ---- -target cannot carry an empty database past DATA LOSS ----

DATABASE_MODULE = """resource "aws_db_instance" "this" {
  identifier          = var.identifier
  engine              = "postgres"
  instance_class      = "db.t4g.small"
  allocated_storage   = 20
  username            = "payments"
  password            = "not-a-real-password"
  skip_final_snapshot = true
}

variable "identifier" {
  type = string
}
"""

# Offline: -refresh=false and these settings keep the provider from calling AWS at all.
TWO_DATABASES = """provider "aws" {
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

module "database_eu_west_1" {
  source     = "./modules/database"
  identifier = "payment-dev-db-eu"
}

module "database_us_east_1" {
  source     = "./modules/database"
  identifier = "payment-dev-db-us"
}

output "payinfra_environment" {
  value = { name = "dev", protected = true }
}
"""


def state_with_the_data_in_eu_west_1() -> str:
    """The state of an environment whose one database (holding every payment) is eu-west-1's."""
    database = {
        "module": "module.database_eu_west_1", "mode": "managed", "type": "aws_db_instance",
        "name": "this", "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
        "instances": [{"schema_version": 2, "sensitive_attributes": [], "attributes": {
            "id": "db-EXAMPLE", "identifier": "payment-dev-db-eu", "engine": "postgres",
            "instance_class": "db.t4g.small", "allocated_storage": 20, "username": "payments",
            "skip_final_snapshot": True}}],
    }  # fmt: skip
    identity = {"value": {"name": "dev", "protected": True},
                "type": ["object", {"name": "string", "protected": "bool"}]}  # fmt: skip
    return json.dumps({"version": 4, "terraform_version": "1.11.0", "serial": 1,
                       "lineage": "9a0c5d2e-0000-4000-8000-000000000017",
                       "outputs": {"payinfra_environment": identity},
                       "resources": [database]})  # fmt: skip


def test_a_targeted_empty_primary_database_is_data_loss_and_not_applied(cli, env_dir, monkeypatch):
    """The adversary's plan: -target the new region's database alone, then apply it without
    --allow-destroy. terraform's own plan omits the old database; payinfra still sees it."""
    monkeypatch.setattr("payinfra.accounts.caller_account", lambda target: FAKE_ACCOUNT)
    # No AWS here: the account is faked, and so are preflight's verdict on it and every region
    # answering (both tested on moto).
    monkeypatch.setattr("payinfra.preflight.run", lambda env, target, regions=None: [])
    monkeypatch.setattr(
        "payinfra.accounts.unreachable_regions", lambda target, regions, others=(): {}
    )
    for name, value in (("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "x")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    protect(env_dir)
    mirror = find_plugin_dir()
    if mirror:
        monkeypatch.setenv("PAYINFRA_PLUGIN_DIR", str(mirror))
    root = cli.out / "dev"
    writer.write_tree({"main.tf": TWO_DATABASES, "modules/database/main.tf": DATABASE_MODULE}, root)
    (root / "terraform.tfstate").write_text(state_with_the_data_in_eu_west_1())
    assert cli("init", "dev", "--no-render").exit_code == 0
    target = "-target=module.database_us_east_1"
    planned = cli("plan", "dev", "--no-render", "--", target, "-refresh=false")
    assert planned.exit_code == 0, planned.output
    new = "module.database_us_east_1.aws_db_instance.this"
    assert f"DATA LOSS: {new} would start empty" in planned.output
    refused = cli("apply", "dev", "--no-render", "--auto-approve")
    assert refused.exit_code == 3, refused.output
    assert "judged on the whole environment" in refused.output
    assert resources(root) == ["module.database_eu_west_1.aws_db_instance.this"]
