"""trivy, a second scanner with checks of its own, sees what would be deployed: nothing HIGH or
CRITICAL in staging and prod, and in dev exactly the one rule dev really has (HTTPS to any address
through NAT: dev has no interface endpoints). Switches such as `interface_endpoints` reach the
modules as literals from the root so that scanners can evaluate their `count`."""

from __future__ import annotations

import json
import subprocess
from collections import Counter

import pytest

from tests.conftest import REAL_ENVS
from tests.toolchain import required_tool


@pytest.fixture(scope="module")
def trivy_findings(rendered_roots, tmp_path_factory) -> dict[str, list[tuple[str, str, str]]]:
    """{env: [(severity, check id, module)]} of every failed trivy check."""
    trivy = required_tool("trivy", "PAYINFRA_TRIVY")
    cache = tmp_path_factory.mktemp("trivy-cache")
    findings = {}
    for env, root in rendered_roots.items():
        # Offline: the checks embedded in the binary, no update from the check registry.
        command = [trivy, "config", "--skip-check-update", "--cache-dir", str(cache),
                   "--format", "json", "--quiet", str(root)]  # fmt: skip
        completed = subprocess.run(
            command, check=False, capture_output=True, text=True, timeout=300
        )
        assert completed.returncode == 0, completed.stderr[-2000:]
        results = json.loads(completed.stdout).get("Results", [])
        assert sum(r.get("MisconfSummary", {}).get("Successes", 0) for r in results) > 90
        findings[env] = [
            (found["Severity"], found["ID"], found["CauseMetadata"]["Resource"])
            for result in results
            for found in result.get("Misconfigurations") or []
        ]
        print(f"trivy {env}: {dict(Counter(severity for severity, _, _ in findings[env]))}")
    return findings


def serious(findings: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    return [finding for finding in findings if finding[0] in ("HIGH", "CRITICAL")]


@pytest.mark.trivy
@pytest.mark.parametrize("env", ["staging", "prod"])
def test_trivy_finds_nothing_high_or_critical(trivy_findings, env):
    assert serious(trivy_findings[env]) == []


@pytest.mark.trivy
def test_trivy_sees_the_one_egress_dev_really_has(trivy_findings):
    """Proves trivy evaluates the literal switch: dev, without interface endpoints, has the
    processor's HTTPS egress to 0.0.0.0/0 (through NAT); staging and prod (above) do not."""
    assert set(REAL_ENVS) == {"dev", "staging", "prod"}
    assert serious(trivy_findings["dev"]) == [("CRITICAL", "AWS-0104", "module.compute_eu_west_1")]
