"""One AWS account per environment: the providers are pinned to it, a role is assumed in it,
and credentials of another account are refused before terraform runs, tested against an
emulator whose own account is chosen."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from payinfra.cli import main
from payinfra.config import load_environment
from payinfra.render import render_environment
from tests.conftest import ENVIRONMENTS
from tests.fake_terraform import FakeTerraform
from tests.hclparse import parse
from tests.test_config_errors import assert_rejected, render
from tests.toolchain import MotoServer, planned_resources, terraform_init

EMULATOR_ACCOUNT = "111111111111"
ENVIRONMENT_ACCOUNT = "222222222222"
ROLE = f"arn:aws:iam::{ENVIRONMENT_ACCOUNT}:role/payinfra-deploy"


@pytest.fixture(scope="module")
def other_account_emulator():
    server = MotoServer(account_id=EMULATOR_ACCOUNT)
    yield server
    server.stop()


def test_every_provider_is_pinned_to_the_account_and_assumes_the_role(env_dir):
    env_dir.write(
        "dev",
        {
            "aws": {"account_id": ENVIRONMENT_ACCOUNT, "role_arn": ROLE, "external_id": "ext-1"},
            "backend": {"type": "s3", "bucket": "acme-state", "region": "us-east-1"},
        },
    )
    files = render_environment(load_environment(env_dir.path, "dev"))
    providers = parse(str(files["providers.tf"]))["provider"]
    assert len(providers) == 2
    for block in providers:
        aws = block["aws"]
        assert aws["allowed_account_ids"] == [ENVIRONMENT_ACCOUNT]
        assert aws["assume_role"] == [
            {"role_arn": ROLE, "session_name": "payinfra-dev", "external_id": "ext-1"}
        ]
    backend = parse(str(files["backend.tf"]))["terraform"][0]["backend"][0]["s3"]
    assert backend["assume_role"] == {
        "role_arn": ROLE,
        "session_name": "payinfra-dev",
        "external_id": "ext-1",
    }


def test_the_backend_may_use_a_role_of_its_own(env_dir):
    state_role = f"arn:aws:iam::{ENVIRONMENT_ACCOUNT}:role/terraform-state"
    env_dir.write(
        "dev",
        {
            "aws": {"account_id": ENVIRONMENT_ACCOUNT, "role_arn": ROLE},
            "backend": {"type": "s3", "bucket": "acme-state", "region": "us-east-1",
                        "role_arn": state_role},
        },
    )  # fmt: skip
    files = render_environment(load_environment(env_dir.path, "dev"))
    backend = parse(str(files["backend.tf"]))["terraform"][0]["backend"][0]["s3"]
    assert backend["assume_role"]["role_arn"] == state_role


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"protected": True}, "aws.account_id: a protected environment names its AWS account"),
        ({"aws": {"account_id": "12345"}}, "aws.account_id: String should match pattern"),
        (
            {
                "aws": {
                    "account_id": ENVIRONMENT_ACCOUNT,
                    "role_arn": "arn:aws:iam::333333333333:role/x",
                }
            },
            "aws.role_arn: is a role in account 333333333333, not aws.account_id (222222222222)",
        ),
    ],
)
def test_account_settings_are_validated(env_dir, tmp_path, settings, expected):
    env_dir.write("dev", settings)
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, expected)


def test_the_shipped_production_names_its_account():
    assert load_environment(ENVIRONMENTS, "prod").aws.account_id is not None


def emulated_env(env_dir, endpoint: str, aws: dict) -> None:
    env_dir.write("dev", {"emulator": {"endpoint": endpoint}, "aws": aws})


def test_credentials_of_another_account_are_refused_before_terraform_runs(
    env_dir, tmp_path, other_account_emulator
):
    fake = FakeTerraform(tmp_path)
    emulated_env(env_dir, other_account_emulator.endpoint, {"account_id": ENVIRONMENT_ACCOUNT})
    result = CliRunner().invoke(
        main,
        ["plan", "dev", "--environments-dir", str(env_dir.path), "--out", str(tmp_path / "out"),
         "--terraform", str(fake.binary)],
        env=fake.env(),
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    assert (
        f"dev runs in AWS account {ENVIRONMENT_ACCOUNT} (aws.account_id in "
        f"{env_dir.path / 'dev.yaml'}), but the credentials act in account "
        f"{EMULATOR_ACCOUNT}; nothing was changed"
    ) in result.output
    assert fake.calls() == [], "terraform never ran"


@pytest.mark.terraform
def test_the_role_is_assumed_and_the_plan_acts_in_its_account(env_dir, tmp_path, moto_server):
    # The session emulator's own account is the default one; the role lives in another.
    # (moto resolves assumed-role credentials only while its default account is left as is.)
    from payinfra import lifecycle

    emulated_env(
        env_dir, moto_server.endpoint, {"account_id": ENVIRONMENT_ACCOUNT, "role_arn": ROLE}
    )
    env = load_environment(env_dir.path, "dev")
    lifecycle._check_account(env, env_dir.path / "dev.yaml")  # passes once the role is assumed
    rendered = lifecycle.render(env_dir.path, "dev", tmp_path / "out")
    aws = {**moto_server.aws_env()}
    terraform_init(rendered.root, env=aws)
    changes = planned_resources(rendered.root, aws)
    buckets = [c["change"]["after"]["bucket"] for c in changes if c["type"] == "aws_s3_bucket"]
    assert buckets and all(name.endswith(f"-{ENVIRONMENT_ACCOUNT}") for name in buckets), buckets
