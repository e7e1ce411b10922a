"""`payinfra validate`: terraform fmt, init -backend=false + validate, and checkov when it is
installed, as one list of findings. Needs no AWS credentials."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from payinfra.config import PROTECTED_MIN_RETENTION_DAYS, Environment
from payinfra.terraform import find_plugin_dir, init_args
from payinfra.workspace import Workspace

CHECKOV_ENV = "PAYINFRA_CHECKOV"


@dataclass(frozen=True)
class Finding:
    tool: str
    location: str
    message: str


@dataclass(frozen=True)
class Report:
    findings: list[Finding]
    ran: list[str]  # the names of the checks that ran
    skipped: dict[str, str]  # checkov check id -> the YAML key that chose otherwise


def validate(ws: Workspace, *, plugin_dir: Path | None) -> Report:
    """fmt, init -backend=false + validate, and checkov when installed."""
    findings, ran = _fmt_findings(ws), ["terraform fmt"]
    ws.terraform.output_of(*init_args(find_plugin_dir(plugin_dir)), "-backend=false")
    findings += _validate_findings(ws)
    ran.append("terraform validate")
    checkov, skipped = find_checkov(), checks_the_yaml_relaxes(ws.env)
    if checkov:
        findings += _checkov_findings(checkov, ws.root, skipped)
        ran.append("checkov")
    return Report(findings, ran, skipped if checkov else {})


def checks_the_yaml_relaxes(env: Environment) -> dict[str, str]:
    """checkov checks whose verdict the YAML chooses per environment, each with the key that
    chose: checkov enforces them wherever the YAML chose the strict side (every protected
    environment must: config rules), and skips them by name, said in the report, elsewhere.
    Skips true of every environment are inline in the module templates instead."""
    relaxed = {}
    retention = min(env.logs.retention_days, env.network.flow_log_retention_days)
    if retention < PROTECTED_MIN_RETENTION_DAYS:
        relaxed["CKV_AWS_338"] = (
            f"logs.retention_days / network.flow_log_retention_days: log groups keep {retention} "
            f"days, under the year protected environments must keep"
        )
    if not env.protected:
        relaxed["CKV_AWS_293"] = "protected: false, and deletion protection follows it"
    if not env.database.multi_az:
        relaxed["CKV_AWS_157"] = "database.multi_az: false (no standby instance in the region)"
    return relaxed


# Where `make test` installs checkov: a venv of its own inside payinfra's (`.venv/checkov`).
BESIDE_PAYINFRA = Path(sys.prefix) / "checkov" / "bin" / "checkov"


def find_checkov() -> str | None:
    """PAYINFRA_CHECKOV, else checkov on PATH, else the one `make test` installs beside
    payinfra's own venv."""
    found = os.environ.get(CHECKOV_ENV) or shutil.which("checkov")
    if found:
        return found
    return str(BESIDE_PAYINFRA) if BESIDE_PAYINFRA.is_file() else None


def _fmt_findings(ws: Workspace) -> list[Finding]:
    completed = ws.terraform.run_unchecked("fmt", "-check", "-recursive", "-list=true")
    return [
        Finding("terraform fmt", path, "not formatted (run terraform fmt)")
        for path in completed.stdout.split()
    ]


def _validate_findings(ws: Workspace) -> list[Finding]:
    completed = ws.terraform.run_unchecked("validate", "-json")
    report = json.loads(completed.stdout or "{}")
    return [
        Finding(
            "terraform validate",
            _diagnostic_location(diagnostic),
            f"{diagnostic.get('summary')} {diagnostic.get('detail', '')}".strip(),
        )
        for diagnostic in report.get("diagnostics", [])
        if diagnostic.get("severity") == "error"
    ]


def _diagnostic_location(diagnostic: dict) -> str:
    where = diagnostic.get("range", {})
    return f"{where.get('filename', '')}:{where.get('start', {}).get('line', '')}"


def checkov_command(
    checkov: str, root: Path, *, skip: Iterable[str] = (), failed_only: bool = True
) -> list[str]:
    """checkov on a rendered root, offline, one JSON report (`--quiet`: failed checks only),
    without the checks in `skip`."""
    skipped = ",".join(sorted(skip))
    return [
        checkov,
        *("--directory", str(root), "--framework", "terraform", "--output", "json"),
        *("--skip-download", "--compact"),
        *(("--skip-check", skipped) if skipped else ()),
        *(("--quiet",) if failed_only else ()),
    ]


def _checkov_findings(checkov: str, root: Path, skip: Iterable[str]) -> list[Finding]:
    completed = subprocess.run(
        checkov_command(checkov, root, skip=skip),
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(completed.stdout or "{}")
    results = report.get("results", {}) if isinstance(report, dict) else report[0]["results"]
    return [
        Finding(
            "checkov",
            f"{check['file_path']}:{check['file_line_range'][0]}",
            f"{check['check_id']} {check['resource']}: {check['check_name']}",
        )
        for check in results.get("failed_checks", [])
    ]
