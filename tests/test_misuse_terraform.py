"""The destructive misuse cases with the real terraform, on throwaway roots of `terraform_data`
resources with local state: the refused commands provably destroy nothing."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from payinfra import writer
from payinfra.cli import main
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
