"""One AWS account per environment: the providers are pinned to it, a role is assumed in it,
and credentials of another account are refused before terraform runs, tested against an
emulator whose own account is chosen."""

from __future__ import annotations

import http.server
import threading
import time

import pytest
from click.testing import CliRunner

from payinfra.cli import main
from payinfra.config import load_environment
from payinfra.render import render_environment
from tests.config.test_validation_errors import assert_rejected, render
from tests.conftest import ENVIRONMENTS
from tests.fake_terraform import FakeTerraform
from tests.hclparse import parse
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


def invoke_with_fake(tmp_path, env_dir, command: str, *flags: str):
    """`payinfra COMMAND dev` with a fake terraform that records whether it was ever run."""
    fake = FakeTerraform(tmp_path)
    result = CliRunner().invoke(
        main,
        [command, "dev", "--environments-dir", str(env_dir.path), "--out", str(tmp_path / "out"),
         "--terraform", str(fake.binary), *flags],
        env=fake.env(),
    )  # fmt: skip
    return result, fake


@pytest.mark.emulator
def test_credentials_of_another_account_are_refused_before_terraform_runs(
    env_dir, tmp_path, other_account_emulator
):
    emulated_env(env_dir, other_account_emulator.endpoint, {"account_id": ENVIRONMENT_ACCOUNT})
    result, fake = invoke_with_fake(tmp_path, env_dir, "plan")
    assert result.exit_code == 3, result.output
    assert (
        f"dev runs in AWS account {ENVIRONMENT_ACCOUNT} (aws.account_id in "
        f"{env_dir.path / 'dev.yaml'}), but the credentials act in account "
        f"{EMULATOR_ACCOUNT}; nothing was changed"
    ) in result.output
    assert fake.calls() == [], "terraform never ran"


@pytest.mark.emulator
@pytest.mark.parametrize(
    "command",
    [("init",), ("plan",), ("apply", "--auto-approve"), ("destroy", "--auto-approve"),
     ("output",), ("drift",)],
)  # fmt: skip
def test_every_command_that_reads_or_writes_state_checks_the_account_first(
    env_dir, tmp_path, other_account_emulator, command
):
    """init and output too: with an S3 backend they would read the other account's state."""
    emulated_env(env_dir, other_account_emulator.endpoint, {"account_id": ENVIRONMENT_ACCOUNT})
    result, fake = invoke_with_fake(tmp_path, env_dir, *command)
    assert result.exit_code == 3, result.output
    assert f"but the credentials act in account {EMULATOR_ACCOUNT}" in result.output
    assert fake.calls() == [], "terraform never ran"


class _Sts(http.server.BaseHTTPRequestHandler):
    """Not STS: a captive portal's HTML page, or a server that never answers."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.server.behaviour == "silent":  # type: ignore[attr-defined]
            time.sleep(30)
            return
        page = b"<html><body>Please sign in to the hotel wifi</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(params=["html", "silent"])
def broken_sts(request):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sts)
    server.behaviour = request.param  # type: ignore[attr-defined]
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.slow
def test_an_sts_that_is_not_sts_is_one_error_line_within_a_bounded_time(
    env_dir, tmp_path, broken_sts
):
    emulated_env(env_dir, broken_sts, {"account_id": ENVIRONMENT_ACCOUNT})
    started = time.monotonic()
    result, fake = invoke_with_fake(tmp_path, env_dir, "plan")
    assert time.monotonic() - started < 30  # botocore's defaults wait about 3 minutes
    assert result.exit_code == 1, result.output
    assert result.output.count("error:") == 1, result.output
    assert f"cannot tell which AWS account the credentials act in: STS at {broken_sts}" in (
        result.output
    )
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), "no traceback"
    assert fake.calls() == []


@pytest.mark.emulator
@pytest.mark.terraform
def test_the_role_is_assumed_and_the_plan_acts_in_its_account(env_dir, tmp_path, moto_server):
    # The session emulator's own account is the default one; the role lives in another.
    # (moto resolves assumed-role credentials only while its default account is left as is.)
    from payinfra import safety, workspace

    emulated_env(
        env_dir, moto_server.endpoint, {"account_id": ENVIRONMENT_ACCOUNT, "role_arn": ROLE}
    )
    env = load_environment(env_dir.path, "dev")
    # Passes once the role is assumed.
    safety.check_account(env, env_dir.path / "dev.yaml", workspace.aws_target(env))
    rendered = workspace.render(env_dir.path, "dev", tmp_path / "out")
    aws = {**moto_server.aws_env()}
    terraform_init(rendered.root, env=aws)
    changes = planned_resources(rendered.root, aws)
    buckets = [c["change"]["after"]["bucket"] for c in changes if c["type"] == "aws_s3_bucket"]
    assert buckets and all(name.endswith(f"-{ENVIRONMENT_ACCOUNT}") for name in buckets), buckets


def test_sessions_share_service_data_and_nothing_that_acts():
    """Each session of a command reads botocore's data once per process, yet keeps credentials
    and region of its own: a role's session must never act with another's keys."""
    from payinfra.accounts import Target, session

    first = session(Target(region="eu-west-1", credentials=("AKIAFIRST", "first-secret")))
    second = session(Target(region="us-east-1", credentials=("AKIASECOND", "second-secret")))
    loader = first._session.get_component("data_loader")
    assert second._session.get_component("data_loader") is loader
    paths = loader.search_paths
    assert len(paths) == len(set(paths)), paths  # boto3 adds its folder once, not per session
    assert first.get_credentials().access_key == "AKIAFIRST"
    assert second.get_credentials().access_key == "AKIASECOND"
    assert (first.region_name, second.region_name) == ("eu-west-1", "us-east-1")
