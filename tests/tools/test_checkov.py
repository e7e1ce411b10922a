"""checkov scans every rendered environment; any failed check fails the suite.

A skip is allowed only inline in a module template, with a reason a reviewer can judge, or by
name where the environment's YAML chose the relaxed side of a check (`checks_the_yaml_relaxes`).
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from payinfra.config import load_environment
from payinfra.validate import checkov_command, checks_the_yaml_relaxes
from tests.conftest import ENVIRONMENTS, REAL_ENVS, REPO
from tests.toolchain import required_tool

SKIP = re.compile(r"#\s*checkov:skip=(?P<check>[A-Z0-9_]+)(?::(?P<reason>.*))?")


@pytest.fixture(scope="module")
def checkov_results(rendered_roots) -> dict[str, dict]:
    results = {}
    for env, root in rendered_roots.items():
        # The command `payinfra validate` runs, with the passed and skipped checks reported too.
        command = checkov_command(
            required_tool("checkov", "PAYINFRA_CHECKOV"),
            root,
            skip=checks_the_yaml_relaxes(load_environment(ENVIRONMENTS, env)),
            failed_only=False,
        )
        completed = subprocess.run(
            command,
            check=False,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert completed.returncode in (0, 1), completed.stderr[-2000:]
        report = json.loads(completed.stdout)
        results[env] = report if isinstance(report, dict) else report[0]
    return results


@pytest.mark.checkov
@pytest.mark.parametrize("env", REAL_ENVS)
def test_checkov_finds_no_failed_check(checkov_results, env):
    report = checkov_results[env]
    summary = report["summary"]
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for check in report["results"].get("failed_checks", [])
    ]
    print(
        f"checkov {env}: {summary['passed']} passed, {summary['failed']} failed, "
        f"{summary['skipped']} skipped"
    )
    assert summary["passed"] > 400
    assert failed == [] and summary["failed"] == 0


@pytest.mark.checkov
def test_prod_skips_only_what_holds_everywhere_and_enforces_what_the_yaml_chose(checkov_results):
    """prod chose every strict side: nothing is skipped by name, and the inline skips left (true
    of every environment) stay under 22. checkov passes the year of retention of the log groups
    whose module variables it resolves; the ones it cannot resolve in prod are pinned by
    tests/render/test_secure_defaults.py."""
    assert checks_the_yaml_relaxes(load_environment(ENVIRONMENTS, "prod")) == {}
    results = checkov_results["prod"]["results"]
    passed = {c["resource"] for c in results["passed_checks"] if c["check_id"] == "CKV_AWS_338"}
    assert {
        "module.network_eu_west_1.aws_cloudwatch_log_group.flow_log",
        "module.network_us_east_1.aws_cloudwatch_log_group.flow_log",
        "module.compute_us_east_1.aws_cloudwatch_log_group.function",
        "module.compute_us_east_1.aws_cloudwatch_log_group.api_access",
    } <= passed
    skipped = results["skipped_checks"]
    assert len(skipped) < 22, sorted(check["check_id"] for check in skipped)


def test_a_relaxed_check_is_named_with_the_yaml_key_that_relaxed_it():
    relaxed = checks_the_yaml_relaxes(load_environment(ENVIRONMENTS, "dev"))
    assert set(relaxed) == {"CKV_AWS_338", "CKV_AWS_293", "CKV_AWS_157"}
    assert "logs.retention_days" in relaxed["CKV_AWS_338"] and "14 days" in relaxed["CKV_AWS_338"]
    assert relaxed["CKV_AWS_157"].startswith("database.multi_az: false")
    command = checkov_command("checkov", REPO, skip=relaxed)
    assert command[command.index("--skip-check") + 1] == "CKV_AWS_157,CKV_AWS_293,CKV_AWS_338"
    assert "--skip-check" not in checkov_command("checkov", REPO, skip={})


def test_every_skip_is_inline_in_a_template_with_a_reason():
    skips = []
    for path in sorted((REPO / "templates").rglob("*")):
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                match = SKIP.search(line)
                if match:
                    skips.append((path.name, match["check"], (match["reason"] or "").strip()))
    assert skips
    for name, check, reason in skips:
        assert len(reason.split()) >= 6, f"{name}: {check} needs a reason a reviewer can judge"
    assert not list(REPO.glob(".checkov*")), "no repository-wide skip configuration"


def test_validate_finds_the_checkov_make_test_installs(tmp_path, monkeypatch):
    """Not on PATH, no PAYINFRA_CHECKOV: the venv beside payinfra's own is looked in."""
    from payinfra import validate

    monkeypatch.delenv("PAYINFRA_CHECKOV", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    beside = tmp_path / "checkov" / "bin" / "checkov"
    monkeypatch.setattr(validate, "BESIDE_PAYINFRA", beside)
    assert validate.find_checkov() is None
    beside.parent.mkdir(parents=True)
    beside.write_text("#!/bin/sh\n")
    assert validate.find_checkov() == str(beside)
