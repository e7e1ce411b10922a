"""render, init, plan, apply, destroy, unprotect, output and validate for one environment, and
every safety rule that guards them.

Each operation holds the out folder's lock from start to end, renders first (unless told not
to), proves the tree matches its manifest, then drives terraform in `out/<env>/`. The CLI
supplies `confirm`, a callback that asks a person to type the environment's name, or None when
there is no terminal to ask at; nothing here prompts or prints tables itself.

The rules, all enforced here:
- arguments after `--` are an allow-list per command (`check_extra_args`);
- apply applies exactly the plan file `payinfra plan` made and summarised, for the same render,
  environment and protection; the DATA LOSS check runs on the plan file itself;
- protection belongs to the state: once an out folder (or a state) has been protected, a YAML
  that says otherwise is refused until `payinfra unprotect` was typed at a terminal;
- typed confirmations need a terminal.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeGuard

from payinfra import accounts, emulator, leftovers, status, writer
from payinfra.config import Environment, load_environment
from payinfra.errors import (
    NothingApplied,
    PayinfraError,
    Refused,
    TerraformFailed,
    UsageError,
)
from payinfra.plansummary import (
    Drift,
    PlanSummary,
    StreamSummary,
    drift,
    is_targeted,
    prior_state_identity,
    state_identity,
    summarize,
)
from payinfra.render import render_bootstrap, render_environment
from payinfra.terraform import Terraform, find_terraform

PLAN_FILE = "plan.tfplan"
PLAN_JSON = "plan.json"
PLAN_RECORD = "plan.payinfra.json"
# apply verifies and applies a private copy, so the bytes checked are the bytes applied.
APPLYING_PLAN = ".payinfra-applying.tfplan"
PROTECTION_RECORD = ".payinfra-protection.json"
# A targeted plan is judged by the whole environment's plan, made into this file and discarded.
WHOLE_PLAN = "whole.tfplan"
PLUGIN_DIR_ENV = "PAYINFRA_PLUGIN_DIR"
# Where Terraform's filesystem mirrors usually live; the first holding the AWS provider is used.
MIRROR_CANDIDATES = (
    "/opt/tf-plugins",
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
)
AWS_PROVIDER_PATH = "registry.terraform.io/hashicorp/aws"
MIRROR_ADVICE = (
    "if the Terraform registry is unreachable, point --plugin-dir or PAYINFRA_PLUGIN_DIR at a "
    f"provider mirror (DIR/{AWS_PROVIDER_PATH}/<version>/<os>_<arch>/)"
)
CHECKOV_ENV = "PAYINFRA_CHECKOV"
EMULATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "emulator", "AWS_SECRET_ACCESS_KEY": "emulator"}

# Returns True when the person typed the name; None stands for "no terminal to ask at".
Confirm = Callable[[str], bool]

# ---- Arguments after `--` ----

_VALUES = {
    "-no-color": None,
    "-compact-warnings": None,
    "-parallelism": re.compile(r"[1-9][0-9]{0,2}"),
    "-lock-timeout": re.compile(r"[0-9]{1,6}(ms|s|m|h)"),
    # Resource addresses: they narrow or force a change that the saved plan then shows.
    "-target": re.compile(r"[A-Za-z_][A-Za-z0-9_.\[\]\"'*-]*"),
    "-replace": re.compile(r"[A-Za-z_][A-Za-z0-9_.\[\]\"'*-]*"),
    "-refresh": re.compile(r"true|false"),
}
_OUTPUT_ONLY = ("-no-color", "-lock-timeout")
_RUN_SHAPE = ("-no-color", "-compact-warnings", "-parallelism", "-lock-timeout")
# Only flags that cannot change *what* is applied or destroyed, or *which* state is used. plan
# may also target or replace, because the saved plan shows the result and apply applies only it.
ALLOWED_EXTRA_ARGS: dict[str, tuple[str, ...]] = {
    "init": _OUTPUT_ONLY,
    "plan": (*_RUN_SHAPE, "-target", "-replace", "-refresh"),
    "apply": _RUN_SHAPE,
    "destroy": _RUN_SHAPE,
}


def check_extra_args(command: str, extra: tuple[str, ...]) -> None:
    """Refuse, before terraform runs, any argument after `--` not on `command`'s allow-list."""
    allowed = ALLOWED_EXTRA_ARGS.get(command, ())
    for argument in extra:
        name, has_value, value = argument.partition("=")
        pattern = _VALUES.get(name)
        takes_value = pattern is not None
        if name not in allowed or has_value != ("=" if takes_value else ""):
            raise UsageError(_refusal(command, argument, allowed))
        if pattern is not None and not pattern.fullmatch(value):
            raise UsageError(f"terraform argument {argument!r}: {value!r} is not a valid value")


def _refusal(command: str, argument: str, allowed: tuple[str, ...]) -> str:
    shown = ", ".join(f"{name}=…" if _VALUES[name] else name for name in allowed) or "none"
    return (
        f"terraform argument {argument!r} is not allowed after `--` for {command}: payinfra "
        "passes only flags that cannot change what is applied or destroyed, or which state is "
        f"used (allowed for {command}: {shown})"
    )


# ---- Workspace: the locked, rendered, verified root of one environment ----


@dataclass(frozen=True)
class Workspace:
    env: Environment
    root: Path
    terraform: Terraform
    env_file: Path  # where the environment's YAML lives, for messages


@dataclass(frozen=True)
class Rendered:
    env: Environment
    root: Path
    result: writer.WriteResult


def render(environments_dir: Path, name: str, out_dir: Path) -> Rendered:
    """Load, validate, render and write one environment: the one call that does all of it."""
    env = load_environment(environments_dir, name)
    root = out_dir / name
    with writer.locked(root):
        return Rendered(env, root, _render_locked(env, root))


def _render_locked(env: Environment, root: Path) -> writer.WriteResult:
    _guard_protection(env, root)
    return writer.write_tree(render_environment(env), root)


@contextlib.contextmanager
def workspace(
    environments_dir: Path,
    name: str,
    out_dir: Path,
    *,
    render_first: bool,
    terraform: str | None,
    reads_state: bool = True,
) -> Iterator[Workspace]:
    """The environment's root, locked for the whole `with` block, rendered (unless told not to)
    and proven to match its manifest. When the command `reads_state` (every one but validate),
    the credentials are first proven to act in the YAML's account: no backend or provider is
    ever started with another account's credentials."""
    env = load_environment(environments_dir, name)
    binary = find_terraform(terraform)
    root = out_dir / name
    env_file = environments_dir / f"{name}.yaml"
    with writer.locked(root):
        if reads_state:
            _check_account(env, env_file)
        if render_first:
            _render_locked(env, root)
        else:
            _guard_protection(env, root)
        writer.verify(root)
        terraform_runner = Terraform(binary, root, _child_env(env), writer.held_locks())
        yield Workspace(env, root, terraform_runner, env_file)


def _child_env(env: Environment) -> dict[str, str]:
    """The emulator is reached through AWS_ENDPOINT_URL, which the AWS provider honours."""
    endpoint = emulator_endpoint(env)
    if endpoint is None:
        return {}
    return {"AWS_ENDPOINT_URL": endpoint, **EMULATOR_CREDENTIALS}


def emulator_endpoint(env: Environment) -> str | None:
    """The YAML's emulator endpoint, or that of the emulator `payinfra emulator start` runs."""
    if env.emulator is None:
        return None
    if env.emulator.endpoint:
        return env.emulator.endpoint
    running = emulator.status()
    if not running.running:
        raise PayinfraError(
            f"{env.name} runs on the local emulator, which is not running: "
            "`payinfra emulator start [--port N]` first"
        )
    return running.endpoint


def _check_account(env: Environment, env_file: Path) -> None:
    """Refuse before terraform runs when the credentials act in another account."""
    if env.aws.account_id is None:
        return
    accounts.require_account(env.name, env.aws.account_id, aws_target(env), str(env_file))


def workload_status(environments_dir: Path, name: str) -> tuple[Environment, list[status.Line]]:
    """What AWS reports about each region of `name`'s workload (read-only; nothing rendered)."""
    env = load_environment(environments_dir, name)
    target = aws_target(env)
    # Always asked, with or without aws.account_id: no credentials is an error, never a report
    # of unknowns that exits 0.
    account = accounts.caller_account(target)
    if env.aws.account_id is not None:
        accounts.require_account(
            env.name, env.aws.account_id, target, str(environments_dir / f"{name}.yaml"), account
        )
    return env, status.workload_status(env, target, account)


def aws_target(env: Environment) -> accounts.Target:
    """Where boto3 asks about `env`: the emulator or AWS, as the YAML's role."""
    endpoint = emulator_endpoint(env)
    return accounts.Target(
        region=env.primary.name,
        endpoint=endpoint,
        role_arn=env.aws.role_arn,
        external_id=env.aws.external_id,
        session_name=env.session_name,
        credentials=_emulator_credentials() if endpoint else None,
    )


def _emulator_credentials() -> tuple[str, str]:
    return (
        EMULATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        EMULATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


# ---- Protection belongs to the state ----


def _guard_protection(env: Environment, root: Path) -> None:
    """Bind the folder to its environment, and never let YAML lower a protection it once had."""
    record = _read_protection(root)
    if record is not None and record["environment"] != env.name:
        raise Refused(
            f"{root} holds the Terraform root of environment {record['environment']!r}, "
            f"not {env.name!r}; use its own name or another --out folder"
        )
    if record is not None and record["protected"] and not env.protected:
        raise Refused(
            f"{env.name} is protected, but its YAML now says it is not (protected: false or "
            f"absent, or another --environments-dir). Lowering the protection of {root} needs "
            f"`payinfra unprotect {env.name}`, typed at a terminal, first"
        )
    # Raising protection is always allowed; a record lowered by `unprotect` stays as it is.
    if record is None or (env.protected and not record["protected"]):
        _write_protection(root, env.name, env.protected, lowered_at=None)


def _read_protection(root: Path) -> dict | None:
    path = root / PROTECTION_RECORD
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise Refused(
            f"{path} is unreadable ({exc}); payinfra cannot tell whether this environment is "
            "protected. Restore it from version control or a backup"
        ) from None
    if not (
        isinstance(record, dict)
        and isinstance(record.get("environment"), str)
        and isinstance(record.get("protected"), bool)
    ):
        raise Refused(f"{path} is damaged; restore it before running payinfra here")
    return record


def _write_protection(root: Path, name: str, protected: bool, *, lowered_at: str | None) -> None:
    record: dict[str, object] = {"environment": name, "protected": protected}
    if lowered_at:
        record["lowered_at"] = lowered_at
    temporary = root / (PROTECTION_RECORD + ".tmp")
    temporary.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, root / PROTECTION_RECORD)


def _protection_lowered(root: Path) -> bool:
    record = _read_protection(root)
    return record is not None and record.get("lowered_at") is not None


def _guard_state_identity(ws: Workspace, identity: dict | None) -> None:
    """The state itself records its environment and protection (root output); check them."""
    if identity is None:
        return
    if identity["name"] != ws.env.name:
        raise Refused(
            f"the state in {ws.root} belongs to environment {identity['name']!r}, not "
            f"{ws.env.name!r}; check the backend settings in the YAML"
        )
    if identity["protected"] and not ws.env.protected and not _protection_lowered(ws.root):
        raise Refused(
            f"the state of {ws.env.name} is protected, but its YAML says it is not. Lowering "
            f"protection needs `payinfra unprotect {ws.env.name}`, typed at a terminal, first"
        )


UNPROTECT_CONSEQUENCES = (
    "this lets {name}'s YAML say `protected: false` for {root} and its state; the next apply "
    "of such a YAML turns off RDS and DynamoDB deletion protection and the final snapshot rule, "
    "plans that destroy data are no longer refused, and destroy no longer needs --force"
)


def is_protected_root(root: Path, name: str) -> bool:
    record = _read_protection(root) if (root / PROTECTION_RECORD).is_file() else None
    return record is not None and record["environment"] == name and record["protected"]


def unprotect(root: Path, name: str, confirm: Confirm | None) -> None:
    """Record, once the name is typed at a terminal, that `name`'s YAML may lower its protection
    for `root` and its state. Refused when `root` is not a protected environment's root."""
    with writer.locked(root):
        if not is_protected_root(root, name):
            raise Refused(f"{root} is not the root of protected environment {name}")
        _confirm(name, auto_approve=False, confirm=confirm, action="unprotect")
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        _write_protection(root, name, False, lowered_at=stamp)


# ---- Confirmation ----


def _confirm(name: str, *, auto_approve: bool, confirm: Confirm | None, action: str) -> None:
    if auto_approve:
        return
    if confirm is None:
        advice = "CI uses --auto-approve" if action == "apply" else "there is no flag for CI"
        raise Refused(
            f"{action} of {name} needs its name typed at a terminal, and standard input is not "
            f"one; {advice}"
        )
    if not confirm(f"Type the environment name ({name}) to {action} it"):
        raise Refused(f"{action} of {name} not confirmed; nothing was changed")


# ---- init ----


def find_plugin_dir(explicit: Path | None = None) -> Path | None:
    """--plugin-dir, else PAYINFRA_PLUGIN_DIR, else the first usual mirror folder that holds
    the AWS provider; None means the registry."""
    if explicit:
        return explicit
    if os.environ.get(PLUGIN_DIR_ENV):
        return Path(os.environ[PLUGIN_DIR_ENV])
    for candidate in MIRROR_CANDIDATES:
        path = Path(candidate).expanduser()
        if (path / AWS_PROVIDER_PATH).is_dir():
            return path
    return None


def init(ws: Workspace, *, plugin_dir: Path | None, upgrade: bool, extra: tuple[str, ...]) -> None:
    check_extra_args("init", extra)
    _init(ws.terraform, find_plugin_dir(plugin_dir), upgrade=upgrade, extra=extra)


def _init(
    terraform: Terraform, plugin_dir: Path | None, *, upgrade: bool, extra: tuple[str, ...]
) -> None:
    args = _init_args(plugin_dir)
    if upgrade:
        args.append("-upgrade")
    try:
        terraform.run(*args, *extra)
    except TerraformFailed as failed:
        if plugin_dir is None:
            raise TerraformFailed("init", failed.exit_code, MIRROR_ADVICE) from None
        raise


def _init_args(plugin_dir: Path | None) -> list[str]:
    args = ["init", "-input=false"]
    if plugin_dir:
        args.append(f"-plugin-dir={plugin_dir}")
    return args


def ensure_initialised(ws: Workspace, plugin_dir: Path | None) -> None:
    """Run `terraform init` when the root was never initialised, or when the YAML now calls a
    module init has not installed (a region joining the workload adds module calls)."""
    if not (ws.root / ".terraform").is_dir() or _uninstalled_modules(ws.root):
        init(ws, plugin_dir=plugin_dir, upgrade=False, extra=())


MODULE_CALL = re.compile(r'^module "([A-Za-z0-9_-]+)"', re.MULTILINE)


def _uninstalled_modules(root: Path) -> set[str]:
    called = set(MODULE_CALL.findall((root / "main.tf").read_text(encoding="utf-8")))
    try:
        installed = json.loads((root / ".terraform" / "modules" / "modules.json").read_text())
        keys = {str(module.get("Key")) for module in installed.get("Modules", [])}
    except (OSError, ValueError, AttributeError):
        return called
    return called - keys


# ---- plan ----


@dataclass(frozen=True)
class PlanResult:
    summary: PlanSummary
    exit_code: int


def plan(
    ws: Workspace,
    *,
    detailed_exitcode: bool,
    plugin_dir: Path | None,
    extra: tuple[str, ...],
    on_message: Callable[[dict], None] = lambda message: None,
) -> PlanResult:
    """Plan into PLAN_FILE and summarise from `terraform plan -json`'s own stream (no second
    `terraform show`, which would start every provider again); `on_message` sees each message
    to show progress. apply re-derives the summary from the plan file itself."""
    check_extra_args("plan", extra)
    ensure_initialised(ws, plugin_dir)
    _discard_plan(ws.root)
    # The state's own identity, read without starting a provider.
    _guard_state_identity(ws, state_identity(_state_outputs(ws)))
    args = ["plan", "-input=false", "-json", f"-out={PLAN_FILE}"]
    if detailed_exitcode:
        args.append("-detailed-exitcode")
    summary = StreamSummary()

    def read(line: str) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            message = {"type": "text", "@message": line.rstrip("\n")}
        if isinstance(message, dict):
            summary.add(message)
            on_message(message)

    code = ws.terraform.stream(
        *args, *extra, on_line=read, ok_codes=(0, 2) if detailed_exitcode else (0,)
    )
    result = summary.result()
    targeted = any(argument.startswith("-target=") for argument in extra)
    if summary.touches_database or targeted:
        # Rare (a new environment, a region joining or switching, a -target): ask the plan
        # whether a new database starts empty beside one in the (whole) state, or a standalone
        # one would be made a replica; the summary is then exactly the one apply derives.
        result = summarize(_plan_json(ws.terraform.capture("show", "-json", PLAN_FILE), PLAN_FILE))
    record: dict[str, object] = {
        "environment": ws.env.name,
        "protected": ws.env.protected,
        "render_sha256": writer.tree_digest(ws.root),
        "plan_sha256": _file_sha256(ws.root / PLAN_FILE),
    }
    if targeted:
        whole = _whole_environment_verdict(ws, extra)
        record["whole_environment"] = whole
        result = result.judged_with(whole)
    record["summary"] = result.as_json()
    (ws.root / PLAN_RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return PlanResult(result, code)


def _whole_environment_verdict(ws: Workspace, extra: tuple[str, ...]) -> dict[str, list[str]]:
    """The losses and refusals of the whole environment's plan, without the -target: what a
    targeted plan is judged by, so that no sequence of targeted applies can reach a state the
    whole plan would have called DATA LOSS without anyone saying so."""
    untargeted = [argument for argument in extra if not argument.startswith("-target=")]
    try:
        ws.terraform.run("plan", "-input=false", f"-out={WHOLE_PLAN}", *untargeted, quiet=True)
        shown = ws.terraform.capture("show", "-json", WHOLE_PLAN)
        return summarize(_plan_json(shown, WHOLE_PLAN)).verdict()
    finally:
        (ws.root / WHOLE_PLAN).unlink(missing_ok=True)


def _discard_plan(root: Path) -> None:
    for name in (PLAN_FILE, PLAN_JSON, PLAN_RECORD, APPLYING_PLAN, WHOLE_PLAN):
        (root / name).unlink(missing_ok=True)


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _plan_json(text: str, source: str) -> dict:
    try:
        shown = json.loads(text)
    except ValueError:
        shown = None
    if not isinstance(shown, dict):
        raise PayinfraError(f"terraform show -json {source} did not print a JSON plan")
    return shown


# ---- apply ----


def apply(
    ws: Workspace,
    *,
    auto_approve: bool,
    allow_destroy: bool,
    confirm: Confirm | None,
    extra: tuple[str, ...],
    plugin_dir: Path | None = None,
) -> PlanSummary:
    check_extra_args("apply", extra)
    record = _read_plan_record(ws.root)
    # A plan carried from another job of the same commit arrives without .terraform/.
    ensure_initialised(ws, plugin_dir)
    applying = ws.root / APPLYING_PLAN
    shutil.copyfile(ws.root / PLAN_FILE, applying)
    try:
        summary = _reviewed_summary(ws, record, applying)
        if summary.demoted_databases:
            raise Refused(
                f"{', '.join(summary.demoted_databases)}: a standalone database cannot become a "
                "read replica in place (RDS has no such operation); nothing was changed. Remove "
                "its region from `workload` first (README: Retiring a region)"
            )
        if ws.env.protected:
            if summary.loses_data and not allow_destroy:
                lost = [*summary.stateful_losses, *summary.empty_databases]
                whole = (
                    " (judged on the whole environment: -target narrowed the plan, not the rule)"
                    if summary.judged_on_whole_environment
                    else ""
                )
                raise Refused(
                    f"{ws.env.name} is protected and the plan loses data (destroys, replaces, "
                    f"or starts a database empty){whole}: {', '.join(lost)}; re-run with "
                    "--allow-destroy if that is intended"
                )
            _confirm(ws.env.name, auto_approve=auto_approve, confirm=confirm, action="apply")
        ws.terraform.run("apply", "-input=false", *extra, APPLYING_PLAN)
    finally:
        applying.unlink(missing_ok=True)
    # A saved plan is spent once applied; keeping it would invite applying it twice.
    _discard_plan(ws.root)
    return summary


def _read_plan_record(root: Path) -> dict:
    if not (root / PLAN_FILE).is_file() or not (root / PLAN_RECORD).is_file():
        raise Refused(f"no saved plan in {root}; run `payinfra plan {root.name}` first")
    try:
        record = json.loads((root / PLAN_RECORD).read_text(encoding="utf-8"))
        keys = ("environment", "protected", "render_sha256", "plan_sha256", "summary")
        if not isinstance(record, dict) or any(key not in record for key in keys):
            raise ValueError("a key is missing")
    except (OSError, ValueError) as exc:
        raise Refused(
            f"{root / PLAN_RECORD} is damaged ({exc}); run `payinfra plan {root.name}` again"
        ) from None
    return dict(record)


def _reviewed_summary(ws: Workspace, record: dict, applying: Path) -> PlanSummary:
    """The plan file's own summary, if it is exactly the plan that was made and summarised for
    this render, environment and protection; otherwise refuse."""
    again = f"run `payinfra plan {ws.env.name}` again"
    if record["render_sha256"] != writer.tree_digest(ws.root):
        raise Refused(f"the rendered files changed since the plan in {ws.root} was made; {again}")
    if record["plan_sha256"] != _file_sha256(applying):
        raise Refused(f"{ws.root / PLAN_FILE} was replaced after `payinfra plan`; {again}")
    if record["environment"] != ws.env.name or record["protected"] != ws.env.protected:
        raise Refused(
            f"the saved plan was made for {record['environment']} with protected: "
            f"{str(record['protected']).lower()}, not for {ws.env.name} with protected: "
            f"{str(ws.env.protected).lower()}; {again}"
        )
    shown = _plan_json(ws.terraform.capture("show", "-json", APPLYING_PLAN), PLAN_FILE)
    summary = summarize(shown)
    if is_targeted(shown):
        # The plan file says -target narrowed it: it is applied only as judged, at plan time,
        # against the whole environment.
        whole = record.get("whole_environment")
        if not _is_verdict(whole):
            raise Refused(
                f"{ws.root / PLAN_FILE} was narrowed by -target but carries no judgement of the "
                f"whole environment; {again}"
            )
        summary = summary.judged_with(whole)
    if summary.as_json() != record["summary"]:
        raise Refused(f"the plan file no longer matches the summary shown at plan time; {again}")
    identity = prior_state_identity(shown)
    if identity is None and is_targeted(shown):
        # A targeted plan may leave the identity output out of its changes: ask the state.
        identity = state_identity(_state_outputs(ws))
    _guard_state_identity(ws, identity)
    return summary


def _is_verdict(value: object) -> TypeGuard[dict[str, list[str]]]:
    keys = ("stateful_losses", "empty_databases", "demoted_databases")
    return isinstance(value, dict) and all(
        isinstance(value.get(key), list) and all(isinstance(item, str) for item in value[key])
        for key in keys
    )


# ---- destroy ----


def destroy(
    ws: Workspace,
    *,
    force: bool,
    auto_approve: bool,
    confirm: Confirm | None,
    plugin_dir: Path | None,
    extra: tuple[str, ...],
) -> None:
    check_extra_args("destroy", extra)
    if ws.env.protected:
        if not force:
            raise Refused(
                f"{ws.env.name} is protected; destroying it needs --force and the "
                "environment name typed at the prompt"
            )
        # --auto-approve never suffices for a protected environment: a person must type.
        _confirm(ws.env.name, auto_approve=False, confirm=confirm, action="destroy")
    else:
        _confirm(ws.env.name, auto_approve=auto_approve, confirm=confirm, action="destroy")
    ensure_initialised(ws, plugin_dir)
    _guard_state_identity(ws, state_identity(_state_outputs(ws)))
    _discard_plan(ws.root)
    ws.terraform.run("destroy", "-input=false", "-auto-approve", *extra)


# ---- drift ----

DRIFT_PLAN = "drift.tfplan"


def find_drift(ws: Workspace, *, plugin_dir: Path | None) -> list[Drift]:
    """What changed outside Terraform: a refresh-only plan (read-only, no lock taken), each
    resource with the attributes that differ from the state."""
    ensure_initialised(ws, plugin_dir)
    if _state_is_empty(ws):
        raise NothingApplied(
            f"nothing has been applied to {ws.env.name} yet (its state holds no resource), so "
            f"there is nothing to compare with AWS; run `payinfra apply {ws.env.name}` first"
        )
    try:
        completed = ws.terraform.captured(
            "plan", "-refresh-only", "-input=false", "-lock=false", f"-out={DRIFT_PLAN}"
        )
        if completed.returncode != 0:
            raise TerraformFailed("plan -refresh-only", completed.returncode, completed.stderr)
        return drift(_plan_json(ws.terraform.capture("show", "-json", DRIFT_PLAN), DRIFT_PLAN))
    finally:
        (ws.root / DRIFT_PLAN).unlink(missing_ok=True)


# ---- bootstrap: the S3 state bucket ----

BOOTSTRAP_DIR = "bootstrap"


def bootstrap(
    environments_dir: Path, name: str, out_dir: Path, *, terraform: str | None,
    plugin_dir: Path | None,
) -> BootstrapResult:  # fmt: skip
    """Create (or bring up to date) the state bucket the YAML's S3 backend names, from a root
    of its own in OUT/ENV/bootstrap/ whose state stays there. Idempotent; it never destroys or
    replaces anything (the bucket itself is prevent_destroy)."""
    env, env_file = load_environment(environments_dir, name), environments_dir / f"{name}.yaml"
    if env.backend.type != "s3":
        raise UsageError(
            f"{env_file}: backend.type is local; bootstrap creates the bucket of an s3 backend "
            "(set backend.type: s3, backend.bucket and backend.region)"
        )
    binary = find_terraform(terraform)
    root = out_dir / name / BOOTSTRAP_DIR
    with writer.locked(out_dir / name), writer.locked(root):
        _guard_protection(env, out_dir / name)
        _check_account(env, env_file)
        # A run killed half-way leaves resources in AWS that its state never recorded: adopt
        # them (import) instead of creating a second key and failing on the bucket's name.
        target = replace(
            aws_target(env),
            region=env.backend.region or env.primary.name,
            role_arn=env.backend.role_arn or env.aws.role_arn,
        )
        found = leftovers.find(target, env.backend.bucket or "", _local_state_addresses(root))
        writer.write_tree(render_bootstrap(env, found.imports), root)
        writer.verify(root)
        terraform_runner = Terraform(binary, root, _child_env(env), writer.held_locks())
        ws = Workspace(env, root, terraform_runner, env_file)
        ensure_initialised(ws, plugin_dir)
        tf = ws.terraform
        try:
            tf.run("plan", "-input=false", f"-out={PLAN_FILE}")
            summary = summarize(_plan_json(tf.capture("show", "-json", PLAN_FILE), PLAN_FILE))
            totals = summary.totals
            if totals["destroy"] or totals["replace"]:
                raise Refused(
                    f"bootstrap of {name} would destroy or replace resources of its state "
                    f"bucket ({', '.join(summary.stateful_losses) or 'see the plan'}); nothing "
                    "was changed"
                )
            if summary.has_changes or found.imports:
                tf.run("apply", "-input=false", PLAN_FILE)
        finally:
            (root / PLAN_FILE).unlink(missing_ok=True)
    return BootstrapResult(summary, sorted(found.imports), found.spare_keys)


@dataclass(frozen=True)
class BootstrapResult:
    summary: PlanSummary
    adopted: list[str]  # addresses imported from an interrupted run
    spare_keys: list[str]  # keys earlier interrupted runs made and nothing uses


def _local_state_addresses(root: Path) -> set[str]:
    """The resource addresses a local state file records (none when there is no state)."""
    try:
        text = (root / "terraform.tfstate").read_text(encoding="utf-8")
        # A terraform killed while writing leaves an empty file; terraform reads it as no state.
        state = json.loads(text) if text.strip() else {}
    except FileNotFoundError:
        return set()
    except (OSError, ValueError) as error:
        raise Refused(
            f"{root / 'terraform.tfstate'} is unreadable ({error}); restore it from its "
            "backup (terraform.tfstate.backup) before bootstrapping again"
        ) from None
    return {
        ".".join(
            part for part in (entry.get("module"), entry.get("type"), entry.get("name")) if part
        )
        for entry in (state.get("resources") or [] if isinstance(state, dict) else [])
        if isinstance(entry, dict) and entry.get("mode") == "managed" and entry.get("instances")
    }


# ---- output ----


def outputs(ws: Workspace) -> dict[str, object]:
    return {name: entry.get("value") for name, entry in sorted(_output_values(ws).items())}


def _state_outputs(ws: Workspace) -> dict:
    """The state's outputs as `terraform output -json` shows them; a local state is read
    straight from its file (what terraform would do, without starting terraform)."""
    if ws.env.backend.type != "local":
        return _output_values(ws)
    try:
        state = json.loads((ws.root / "terraform.tfstate").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return _output_values(ws)  # let terraform report what is wrong with it
    outputs = state.get("outputs") if isinstance(state, dict) else None
    return outputs if isinstance(outputs, dict) else {}


def _state_is_empty(ws: Workspace) -> bool:
    """Whether the state holds no resource; a local state is read from its file."""
    if ws.env.backend.type == "local":
        try:
            state = json.loads((ws.root / "terraform.tfstate").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return True
        except (OSError, ValueError):
            return False  # let terraform report what is wrong with it
        return not (isinstance(state, dict) and state.get("resources"))
    return not ws.terraform.capture("state", "list").strip()


def _output_values(ws: Workspace) -> dict:
    text = ws.terraform.capture("output", "-json").strip()
    try:
        values = json.loads(text) if text else {}
    except ValueError:
        raise PayinfraError("terraform output -json did not print JSON") from None
    return values if isinstance(values, dict) else {}


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
    ws.terraform.capture(*_init_args(find_plugin_dir(plugin_dir)), "-backend=false")
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
