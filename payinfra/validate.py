"""`payinfra validate`: terraform fmt, init -backend=false + validate, and checkov when it is
installed, as one list of findings. Needs no AWS credentials."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from payinfra.terraform import find_plugin_dir, init_args
from payinfra.workspace import Workspace

CHECKOV_ENV = "PAYINFRA_CHECKOV"


@dataclass(frozen=True)
class Finding:
    tool: str
    location: str
    message: str


def validate(ws: Workspace, *, plugin_dir: Path | None) -> tuple[list[Finding], list[str]]:
    """fmt, init -backend=false + validate, and checkov when installed. Returns findings and
    the names of the checks that ran."""
    findings, ran = _fmt_findings(ws), ["terraform fmt"]
    ws.terraform.output_of(*init_args(find_plugin_dir(plugin_dir)), "-backend=false")
    findings += _validate_findings(ws)
    ran.append("terraform validate")
    checkov = find_checkov()
    if checkov:
        findings += _checkov_findings(checkov, ws.root)
        ran.append("checkov")
    return findings, ran


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


def checkov_command(checkov: str, root: Path, *, failed_only: bool = True) -> list[str]:
    """checkov on a rendered root, offline, one JSON report (`--quiet`: failed checks only)."""
    return [
        checkov,
        *("--directory", str(root), "--framework", "terraform", "--output", "json"),
        *("--skip-download", "--compact"),
        *(("--quiet",) if failed_only else ()),
    ]


def _checkov_findings(checkov: str, root: Path) -> list[Finding]:
    completed = subprocess.run(
        checkov_command(checkov, root),
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
