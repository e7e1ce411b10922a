"""init, plan, apply, destroy, output and validate for one environment.

Each operation renders first (unless told not to), then drives terraform in `out/<env>/`. The CLI
supplies `confirm`, a callback that asks a person to type the environment's name; nothing here
prompts or prints tables itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from payinfra.config import Environment, load_environment
from payinfra.errors import PayinfraError
from payinfra.plansummary import PlanSummary, summarize
from payinfra.render import render_environment
from payinfra.terraform import Terraform, find_terraform
from payinfra.writer import MANIFEST, write_tree

PLAN_FILE = "plan.tfplan"
PLAN_JSON = "plan.json"
PLAN_RENDER_DIGEST = "plan.render-sha256"
PLUGIN_DIR_ENV = "PAYINFRA_PLUGIN_DIR"
CHECKOV_ENV = "PAYINFRA_CHECKOV"
EMULATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "emulator", "AWS_SECRET_ACCESS_KEY": "emulator"}

Confirm = Callable[[str], bool]


class Refused(PayinfraError):
    """A safety rule stopped the operation; nothing was changed."""

    exit_code = 3


@dataclass(frozen=True)
class Workspace:
    env: Environment
    root: Path
    terraform: Terraform


def open_workspace(
    environments_dir: Path, name: str, out_dir: Path, *, render: bool, terraform: str | None
) -> Workspace:
    env = load_environment(environments_dir, name)
    root = out_dir / name
    if render:
        write_tree(render_environment(env), root)
    elif not (root / MANIFEST).is_file():
        raise PayinfraError(f"{root} has not been rendered yet; run without --no-render")
    return Workspace(env, root, Terraform(find_terraform(terraform), root, _child_env(env)))


def _child_env(env: Environment) -> dict[str, str]:
    """The emulator is reached through AWS_ENDPOINT_URL, which the AWS provider honours."""
    if env.emulator is None:
        return {}
    return {"AWS_ENDPOINT_URL": env.emulator.endpoint, **EMULATOR_CREDENTIALS}


# ---- init ----


def init(ws: Workspace, *, plugin_dir: Path | None, upgrade: bool, extra: tuple[str, ...]) -> None:
    args = _init_args(plugin_dir)
    if upgrade:
        args.append("-upgrade")
    ws.terraform.run(*args, *extra)


def _init_args(plugin_dir: Path | None) -> list[str]:
    args = ["init", "-input=false"]
    if plugin_dir:
        args.append(f"-plugin-dir={plugin_dir}")
    return args


def ensure_initialised(ws: Workspace, plugin_dir: Path | None) -> None:
    if not (ws.root / ".terraform").is_dir():
        init(ws, plugin_dir=plugin_dir, upgrade=False, extra=())


# ---- plan ----


@dataclass(frozen=True)
class PlanResult:
    summary: PlanSummary
    exit_code: int


def plan(
    ws: Workspace, *, detailed_exitcode: bool, plugin_dir: Path | None, extra: tuple[str, ...]
) -> PlanResult:
    ensure_initialised(ws, plugin_dir)
    _discard_plan(ws.root)
    args = ["plan", "-input=false", f"-out={PLAN_FILE}"]
    if detailed_exitcode:
        args.append("-detailed-exitcode")
    code = ws.terraform.run(*args, *extra, ok_codes=(0, 2) if detailed_exitcode else (0,))
    shown = ws.terraform.capture("show", "-json", PLAN_FILE)
    (ws.root / PLAN_JSON).write_text(shown, encoding="utf-8")
    (ws.root / PLAN_RENDER_DIGEST).write_text(render_digest(ws.root) + "\n", encoding="utf-8")
    return PlanResult(summarize(json.loads(shown)), code)


def render_digest(root: Path) -> str:
    """SHA-256 over every generated file, so a plan can be tied to the render it was made from."""
    digest = hashlib.sha256()
    for relative in json.loads((root / MANIFEST).read_text(encoding="utf-8"))["files"]:
        digest.update(relative.encode() + b"\0" + (root / relative).read_bytes() + b"\0")
    return digest.hexdigest()


def _discard_plan(root: Path) -> None:
    for name in (PLAN_FILE, PLAN_JSON, PLAN_RENDER_DIGEST):
        (root / name).unlink(missing_ok=True)


# ---- apply ----


def apply(
    ws: Workspace,
    *,
    auto_approve: bool,
    allow_destroy: bool,
    confirm: Confirm,
    extra: tuple[str, ...],
) -> PlanSummary:
    summary = _saved_plan(ws.root)
    if ws.env.protected:
        if summary.stateful_losses and not allow_destroy:
            raise Refused(
                f"{ws.env.name} is protected and the plan destroys or replaces stateful "
                f"resources: {', '.join(summary.stateful_losses)}; re-run with --allow-destroy "
                "if that is intended"
            )
        _confirm(ws.env.name, auto_approve, confirm, "apply")
    ws.terraform.run("apply", "-input=false", *extra, PLAN_FILE)
    # A saved plan is spent once applied; keeping it would invite applying it twice.
    _discard_plan(ws.root)
    return summary


def _saved_plan(root: Path) -> PlanSummary:
    if not (root / PLAN_FILE).is_file() or not (root / PLAN_RENDER_DIGEST).is_file():
        raise Refused(f"no saved plan in {root}; run `payinfra plan {root.name}` first")
    planned_for = (root / PLAN_RENDER_DIGEST).read_text(encoding="utf-8").strip()
    if planned_for != render_digest(root):
        raise Refused(
            f"the rendered files changed since the plan in {root} was made; "
            f"run `payinfra plan {root.name}` again"
        )
    return summarize(json.loads((root / PLAN_JSON).read_text(encoding="utf-8")))


def _confirm(name: str, auto_approve: bool, confirm: Confirm, action: str) -> None:
    if auto_approve:
        return
    if not confirm(f"Type the environment name ({name}) to {action} it"):
        raise Refused(f"{action} of {name} not confirmed; nothing was changed")


# ---- destroy ----


def destroy(
    ws: Workspace,
    *,
    force: bool,
    auto_approve: bool,
    confirm: Confirm,
    plugin_dir: Path | None,
    extra: tuple[str, ...],
) -> None:
    if ws.env.protected:
        if not force:
            raise Refused(
                f"{ws.env.name} is protected; destroying it needs --force and the "
                "environment name typed at the prompt"
            )
        # --auto-approve never suffices for a protected environment: a person must type.
        _confirm(ws.env.name, False, confirm, "destroy")
    else:
        _confirm(ws.env.name, auto_approve, confirm, "destroy")
    ensure_initialised(ws, plugin_dir)
    _discard_plan(ws.root)
    ws.terraform.run("destroy", "-input=false", "-auto-approve", *extra)


# ---- output ----


def outputs(ws: Workspace) -> dict[str, object]:
    shown = json.loads(ws.terraform.capture("output", "-json"))
    return {name: entry.get("value") for name, entry in sorted(shown.items())}


# ---- validate ----


@dataclass(frozen=True)
class Finding:
    tool: str
    location: str
    message: str


def validate(ws: Workspace, *, plugin_dir: Path | None) -> tuple[list[Finding], list[str]]:
    """fmt, init -backend=false + validate, and checkov when installed. Returns findings and
    the names of the checks that ran."""
    findings, ran = _fmt_findings(ws), ["terraform fmt"]
    ws.terraform.capture(*_init_args(plugin_dir), "-backend=false")
    findings += _validate_findings(ws)
    ran.append("terraform validate")
    checkov = os.environ.get(CHECKOV_ENV) or shutil.which("checkov")
    if checkov:
        findings += _checkov_findings(checkov, ws.root)
        ran.append("checkov")
    return findings, ran


def _fmt_findings(ws: Workspace) -> list[Finding]:
    completed = ws.terraform.captured("fmt", "-check", "-recursive", "-list=true")
    return [
        Finding("terraform fmt", path, "not formatted (run terraform fmt)")
        for path in completed.stdout.split()
    ]


def _validate_findings(ws: Workspace) -> list[Finding]:
    completed = ws.terraform.captured("validate", "-json")
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


def _checkov_findings(checkov: str, root: Path) -> list[Finding]:
    completed = subprocess.run(
        [
            checkov,
            "--directory",
            str(root),
            "--framework",
            "terraform",
            "--output",
            "json",
            "--skip-download",
            "--compact",
            "--quiet",
        ],
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
