"""Shared fixtures: the real environments rendered once, and builders for throwaway YAML."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from payinfra.accounts import new_session
from payinfra.cli import main
from payinfra.config import load_environment
from payinfra.emulator import SERVER_SETTINGS
from payinfra.render import render_environment
from payinfra.writer import write_tree
from tests.fake_terraform import FakeTerraform
from tests.hclparse import parse_tree

# The markers and the guard that fails a test starting terraform, moto or checkov unmarked.
pytest_plugins = ["tests.markerguard", "pytester"]

# In-process moto (the `aws` fixture, the processor harness): EC2 without its catalogue of
# public AMIs, as the emulator runs it (payinfra.emulator.SERVER_SETTINGS).
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", SERVER_SETTINGS["MOTO_EC2_LOAD_DEFAULT_AMIS"])

REPO = Path(__file__).resolve().parent.parent
ENVIRONMENTS = REPO / "environments"
REAL_ENVS = ("dev", "staging", "prod")


@pytest.fixture(scope="session")
def rendered_roots(tmp_path_factory) -> dict[str, Path]:
    """Each real environment rendered once into its own folder for the whole session."""
    out = tmp_path_factory.mktemp("out")
    roots = {}
    for name in REAL_ENVS:
        write_tree(render_environment(load_environment(ENVIRONMENTS, name)), out / name)
        roots[name] = out / name
    return roots


@pytest.fixture(scope="session")
def parsed(rendered_roots) -> dict[str, dict]:
    """Each rendered environment parsed with python-hcl2: {env: {relative_path: hcl_dict}}."""
    return {name: parse_tree(root) for name, root in rendered_roots.items()}


@pytest.fixture
def env_dir(tmp_path) -> EnvironmentsFolder:
    """A copy of the real environments folder that a test may edit."""
    folder = tmp_path / "environments"
    shutil.copytree(ENVIRONMENTS, folder)
    return EnvironmentsFolder(folder)


class EnvironmentsFolder:
    def __init__(self, path: Path):
        self.path = path

    def write(self, name: str, data: dict | str) -> Path:
        text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
        target = self.path / f"{name}.yaml"
        target.write_text(text, encoding="utf-8")
        return target

    def update(self, name: str, **settings: object) -> Path:
        """`name`.yaml with `settings` set over its top-level keys."""
        path = self.path / f"{name}.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        data.update(settings)
        return self.write(name, data)

    def defaults(self) -> dict:
        return yaml.safe_load((self.path / "_defaults.yaml").read_text(encoding="utf-8"))


# The four emulator runs take minutes each, mostly waiting on the AWS provider's waiters.
# Collected first, and with `-n 5 --dist loadfile --no-loadscope-reorder` (the Makefile: xdist
# would otherwise queue files by test count, these last), each starts at once on a worker of
# its own and the rest of the suite runs beside them.
SLOWEST_FIRST = (
    "tests/e2e/test_region_move.py",
    "tests/e2e/test_failover_drill.py",
    "tests/e2e/test_adoption.py",
    "tests/e2e/test_stack_lifecycle.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(SLOWEST_FIRST))


@pytest.fixture
def aws(monkeypatch):
    """In-process moto (no server) with dummy credentials, for code that calls boto3 itself."""
    from moto import mock_aws

    for name, value in (("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "x")):
        monkeypatch.setenv(name, value)
    with mock_aws():
        shared_default_session()
        yield


def shared_default_session() -> None:
    """Inside mock_aws (which empties boto3's default session): a default session that reads
    botocore's service data once per process, as payinfra's own sessions do; a new one would
    parse it again for every test."""
    import boto3

    boto3.DEFAULT_SESSION = new_session()


@pytest.fixture(scope="session")
def moto_server():
    from tests.toolchain import MotoServer

    server = MotoServer()
    yield server
    server.stop()


# ---- The CLI against a fake terraform that records its argv ----


def plan_json(*changes: tuple[str, str, list[str]]) -> str:
    return json.dumps(
        {
            "resource_changes": [
                {
                    "address": f"{module}.{rtype}.this",
                    "module_address": module,
                    "mode": "managed",
                    "type": rtype,
                    "name": "this",
                    "change": {"actions": actions},
                }
                for module, rtype, actions in changes
            ]
        }
    )


CREATE_ONLY = plan_json(
    ("module.compute", "aws_lambda_function", ["create"]),
    ("module.data_eu_west_1", "aws_s3_bucket", ["create"]),
)
REPLACES_TABLE = plan_json(("module.data_eu_west_1", "aws_dynamodb_table", ["delete", "create"]))


# The account the fake terraform's credentials act in (accounts are checked against the emulator
# in tests/safety/test_account_guard.py; here only argv matters).
FAKE_ACCOUNT = "123456789012"


@pytest.fixture
def run(env_dir, tmp_path, monkeypatch):
    monkeypatch.setattr("payinfra.accounts.caller_account", lambda target: FAKE_ACCOUNT)
    # Every region answers, unless a test takes one dark: {region: what its STS answered}.
    dark: dict[str, str] = {}
    monkeypatch.setattr(
        "payinfra.accounts.unreachable_regions",
        lambda target, regions, others=(): {r: why for r, why in dark.items() if r in regions},
    )
    # The fake account has room for everything; preflight's own checks run on moto
    # (tests/cli/test_preflight.py). Each environment preflight was asked about is recorded.
    preflights: list[str] = []
    monkeypatch.setattr(
        "payinfra.preflight.run",
        lambda env, target, regions=None: preflights.append(env.name) or [],
    )
    folder = tmp_path / "fake"
    folder.mkdir()
    fake = FakeTerraform(folder)
    for name, value in fake.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PAYINFRA_TERRAFORM", raising=False)
    monkeypatch.delenv("PAYINFRA_PLUGIN_DIR", raising=False)
    monkeypatch.delenv("PAYINFRA_CHECKOV", raising=False)
    # No checkov for the fake terraform's commands, not even the one `make test` installs.
    monkeypatch.setattr("payinfra.validate.BESIDE_PAYINFRA", tmp_path / "no-checkov")
    # These environments keep local state, which payinfra refuses on a CI runner.
    monkeypatch.delenv("CI", raising=False)
    out = tmp_path / "out"

    def invoke(*args, input=None):
        command, env, *rest = args
        result = CliRunner().invoke(
            main,
            [command, env, "--environments-dir", str(env_dir.path), "--out", str(out), *rest],
            input=input,
        )
        return result

    invoke.fake, invoke.out, invoke.env_dir, invoke.preflights = fake, out, env_dir, preflights
    invoke.dark = dark
    return invoke


def protect(env_dir, name="dev"):
    env_dir.write(
        name,
        {
            "protected": True,
            "aws": {"account_id": FAKE_ACCOUNT},
            "logs": {"retention_days": 365},
            "network": {"flow_log_retention_days": 365},
            "storage": {"access_log_retention_days": 365},
            "alarms": {"emails": ["oncall@example.com"]},
        },
    )


@pytest.fixture
def terminal(monkeypatch):
    """Pretend standard input is a terminal, so typed confirmations are asked for."""
    monkeypatch.setattr("payinfra.cli_options.stdin_is_terminal", lambda: True)
