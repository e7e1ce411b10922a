"""The terraform runs of one root: init, plan, apply, destroy, drift and output (the roots of an
environment run through payinfra/roots.py); the read-only status and preflight reports; and the
failover, which runs no terraform (boto3 in the surviving region only).

Each runs in a `Workspace` (payinfra/workspace.py: locked, account checked, rendered, verified)
and calls the rules of payinfra/safety.py at the points they guard. The CLI supplies `confirm`, a
callback that asks a person to type the environment's name, or None when there is no terminal
to ask at; nothing here prompts or prints tables itself.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from payinfra import accounts, failover, preflight, safety, states, status
from payinfra.config import Environment, load_environment
from payinfra.errors import (
    AccountUnknown,
    NothingApplied,
    PreflightFailed,
    TerraformFailed,
    TerraformOutputUnreadable,
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
from payinfra.safety import APPLYING_PLAN, PLAN_FILE, PLAN_RECORD, Confirm
from payinfra.tablereplicas import replicas_to_adopt, table_replica_regions
from payinfra.terraform import MIRROR_ADVICE, Terraform, find_plugin_dir, init_args
from payinfra.workspace import Workspace, aws_target, refuse_a_dark_region

PLAN_JSON = "plan.json"

# A targeted plan is judged by the whole environment's plan, made into this file and discarded.
WHOLE_PLAN = "whole.tfplan"

# ---- init ----


def init(ws: Workspace, *, plugin_dir: Path | None, upgrade: bool, extra: tuple[str, ...]) -> None:
    safety.check_extra_args("init", extra)
    safety.refuse_state_on_a_ci_runner(ws.env, ws.env_file)
    _init(ws.terraform, find_plugin_dir(plugin_dir), upgrade=upgrade, extra=extra)


def _init(
    terraform: Terraform, plugin_dir: Path | None, *, upgrade: bool, extra: tuple[str, ...]
) -> None:
    args = init_args(plugin_dir)
    if upgrade:
        args.append("-upgrade")
    try:
        terraform.run(*args, *extra)
    except TerraformFailed as failed:
        if plugin_dir is None:
            raise TerraformFailed("init", failed.exit_code, MIRROR_ADVICE) from None
        raise


def ensure_initialised(ws: Workspace, plugin_dir: Path | None) -> None:
    """Run `terraform init` when the root was never initialised, or when the YAML now calls a
    module init has not installed (a region joining the workload adds module calls)."""
    if not (ws.root / ".terraform").is_dir() or _uninstalled_modules(ws.root):
        # The command that asked has made its own checks: only the init itself runs here.
        _init(ws.terraform, find_plugin_dir(plugin_dir), upgrade=False, extra=())


MODULE_CALL = re.compile(r'^module "([A-Za-z0-9_-]+)"', re.MULTILINE)


def _uninstalled_modules(root: Path) -> set[str]:
    called = set(MODULE_CALL.findall((root / "main.tf").read_text(encoding="utf-8")))
    try:
        installed = json.loads((root / ".terraform" / "modules" / "modules.json").read_text())
        keys = {str(module.get("Key")) for module in installed.get("Modules", [])}
    except (OSError, ValueError, AttributeError):
        return called
    return called - keys


def require_every_region_answers(ws: Workspace) -> None:
    """Before terraform starts a provider for a region that does not answer (it would retry
    for many minutes): one line instead (payinfra/workspace.py)."""
    refuse_a_dark_region(ws.env, ws.regions, ws.folder)


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
    run_preflight: bool = True,
    record: dict[str, object] | None = None,
) -> PlanResult:
    """Plan into PLAN_FILE and summarise from `terraform plan -json`'s own stream (no second
    `terraform show`, which would start every provider again); `on_message` sees each message
    to show progress; `record`: more to keep in the plan record. apply re-derives the summary
    from the plan file itself."""
    safety.check_extra_args("plan", extra)
    safety.refuse_state_on_a_ci_runner(ws.env, ws.env_file)
    require_every_region_answers(ws)
    if ws.env.protected and run_preflight:
        refuse_what_preflight_fails(ws)
    ensure_initialised(ws, plugin_dir)
    if not ws.folder:  # a state split into roots was written by a payinfra that has replicas
        _adopt_table_replicas(ws)
    discard_plan(ws.root)
    # The state's own identity, read without starting a provider.
    identity = state_identity(states.outputs_of(ws))
    safety.guard_state_identity(ws.env, ws.root, identity)
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
    if targeted or (
        summary.needs_the_plan_file and (summary.imports or not _first_plan(ws, identity))
    ):
        # Rare (a region joining or switching, a -target): ask the plan whether a new database
        # starts empty beside one in the (whole) state, a standalone one would be made a
        # replica, or a failover's writer record is pointed elsewhere; the summary is then
        # exactly the one apply derives. Over an empty state that imports nothing
        # neither can be (every database is new, none has a past), so the stream's summary
        # already is that one, without a `terraform show` that starts every provider again.
        result = summarize(plan_json(ws.terraform.output_of("show", "-json", PLAN_FILE), PLAN_FILE))
    if targeted:
        whole = _whole_environment_verdict(ws, extra)
        result = result.judged_with(whole)
        safety.write_plan_record(
            ws.root, ws.env, result, tree=ws.tree, whole_environment=whole, **(record or {})
        )
    else:
        safety.write_plan_record(ws.root, ws.env, result, tree=ws.tree, **(record or {}))
    return PlanResult(result, code)


def _adopt_table_replicas(ws: Workspace) -> None:
    """Import the table replicas an earlier payinfra kept as `replica` blocks (read from the
    state, so only where the workload has replicas at all: no extra terraform run elsewhere)."""
    if not table_replica_regions(ws.env):
        return
    adopted = replicas_to_adopt(ws.env, states.state_of(ws))
    if adopted:
        ws.adopt_replicas(adopted)


def _first_plan(ws: Workspace, identity: dict | None) -> bool:
    """Whether the state holds no resource yet. Every applied state carries the identity
    output, so only a state without one is looked into."""
    return identity is None and states.is_empty(ws)


def _whole_environment_verdict(ws: Workspace, extra: tuple[str, ...]) -> dict[str, list[str]]:
    """The losses and refusals of the whole environment's plan, without the -target: what a
    targeted plan is judged by, so that no sequence of targeted applies can reach a state the
    whole plan would have called DATA LOSS without anyone saying so."""
    untargeted = [argument for argument in extra if not argument.startswith("-target=")]
    try:
        ws.terraform.run("plan", "-input=false", f"-out={WHOLE_PLAN}", *untargeted, quiet=True)
        shown = ws.terraform.output_of("show", "-json", WHOLE_PLAN)
        return summarize(plan_json(shown, WHOLE_PLAN)).verdict()
    finally:
        (ws.root / WHOLE_PLAN).unlink(missing_ok=True)


def discard_plan(root: Path) -> None:
    for name in (PLAN_FILE, PLAN_JSON, PLAN_RECORD, APPLYING_PLAN, WHOLE_PLAN):
        (root / name).unlink(missing_ok=True)


def plan_json(text: str, source: str) -> dict:
    try:
        shown = json.loads(text)
    except ValueError:
        shown = None
    if not isinstance(shown, dict):
        raise TerraformOutputUnreadable(f"terraform show -json {source} did not print a JSON plan")
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
    safety.check_extra_args("apply", extra)
    safety.refuse_state_on_a_ci_runner(ws.env, ws.env_file)
    require_every_region_answers(ws)
    record = safety.read_plan_record(ws.root, ws.env.name)
    # A plan carried from another job of the same commit arrives without .terraform/.
    ensure_initialised(ws, plugin_dir)
    applying = ws.root / APPLYING_PLAN
    shutil.copyfile(ws.root / PLAN_FILE, applying)
    try:
        safety.check_reviewed(ws.env, ws.root, record, applying, tree=ws.tree)
        shown = plan_json(ws.terraform.output_of("show", "-json", APPLYING_PLAN), PLAN_FILE)
        summary = safety.reviewed_summary(ws.env, ws.root, record, shown)
        identity = prior_state_identity(shown)
        if identity is None and is_targeted(shown):
            # A targeted plan may leave the identity output out of its changes: ask the state.
            identity = state_identity(states.outputs_of(ws))
        safety.guard_state_identity(ws.env, ws.root, identity)
        safety.refuse_unapplicable(ws.env, summary, allow_destroy=allow_destroy)
        if ws.env.protected:
            safety.confirm_by_name(
                ws.env.name, auto_approve=auto_approve, confirm=confirm, action="apply"
            )
        ws.terraform.run("apply", "-input=false", *extra, APPLYING_PLAN)
    finally:
        applying.unlink(missing_ok=True)
    # A saved plan is spent once applied; keeping it would invite applying it twice.
    discard_plan(ws.root)
    return summary


# ---- destroy ----


def destroy_root(ws: Workspace, *, plugin_dir: Path | None, extra: tuple[str, ...]) -> None:
    """Destroy one root, once confirmed (`confirm_destroy`)."""
    safety.check_extra_args("destroy", extra)
    require_every_region_answers(ws)
    ensure_initialised(ws, plugin_dir)
    safety.guard_state_identity(ws.env, ws.root, state_identity(states.outputs_of(ws)))
    discard_plan(ws.root)
    ws.terraform.run("destroy", "-input=false", "-auto-approve", *extra)


# ---- drift ----

DRIFT_PLAN = "drift.tfplan"


def find_drift(ws: Workspace, *, plugin_dir: Path | None) -> list[Drift]:
    """What changed outside Terraform: a refresh-only plan (read-only, no lock taken), each
    resource with the attributes that differ from the state."""
    local = ws.env.backend.type == "local"
    if local:  # read from its file: no terraform init for an environment never applied
        _require_applied(ws, "there is nothing to compare with AWS")
    require_every_region_answers(ws)
    ensure_initialised(ws, plugin_dir)
    if not local:
        _require_applied(ws, "there is nothing to compare with AWS")
    try:
        completed = ws.terraform.run_unchecked(
            "plan", "-refresh-only", "-input=false", "-lock=false", f"-out={DRIFT_PLAN}"
        )
        if completed.returncode != 0:
            rerun = f"terraform -chdir={ws.root} plan -refresh-only"
            raise TerraformFailed(
                "plan -refresh-only", completed.returncode, completed.stderr, rerun
            )
        return drift(plan_json(ws.terraform.output_of("show", "-json", DRIFT_PLAN), DRIFT_PLAN))
    finally:
        (ws.root / DRIFT_PLAN).unlink(missing_ok=True)


# ---- output and state ----


def outputs(ws: Workspace) -> dict[str, object]:
    """The state's outputs; one line, not terraform's diagnostics, where there is no state to
    read (nothing applied, or a remote state this folder was never initialised for)."""
    if ws.env.backend.type != "local" and not (ws.root / ".terraform").is_dir():
        raise NothingApplied(
            f"{ws.root} is not initialised for {ws.env.name}'s remote state; run "
            f"`payinfra init {ws.env.name}` first"
        )
    state = _require_applied(ws, "there are no outputs to show")
    values = states.outputs_in(state, ws)
    return {name: entry.get("value") for name, entry in sorted(values.items())}


def _require_applied(ws: Workspace, consequence: str) -> dict | None:
    """The state, read once, unless it holds nothing (then NothingApplied, saying
    `consequence`)."""
    state = states.state_of(ws)
    if states.holds_nothing(state):
        raise NothingApplied(
            f"nothing has been applied to {ws.env.name} yet (its state holds no resource), so "
            f"{consequence}; run `payinfra plan {ws.env.name}` and `payinfra apply "
            f"{ws.env.name}` first"
        )
    return state


# ---- read-only reports: status and preflight ----


def preflight_checks(
    environments_dir: Path, name: str
) -> tuple[Environment, list[preflight.Check]]:
    """What the account says about the YAML's demands (read-only; nothing rendered)."""
    env = load_environment(environments_dir, name)
    target, _ = _proven_target(env, environments_dir, [env.primary.name])
    return env, preflight.run(env, target)


def refuse_what_preflight_fails(ws: Workspace, regions: list[str] | None = None) -> None:
    """A protected environment's plan starts with preflight (of `regions` only, when given): a
    quota that cannot take the YAML fails the plan now, not its apply half-way
    (`--skip-preflight` to plan anyway)."""
    target = aws_target(ws.env, regions[0] if regions else None)
    checks = preflight.run(ws.env, target, regions)
    failed = [check.line() for check in checks if not check.ok]
    if failed:
        raise PreflightFailed(
            f"{ws.env.name} would fail in AWS (payinfra preflight {ws.env.name}; "
            "--skip-preflight plans anyway):\n  " + "\n  ".join(failed)
        )


def workload_status(environments_dir: Path, name: str) -> tuple[Environment, list[status.Line]]:
    """What AWS reports about each region of `name`'s workload (read-only; nothing rendered),
    asked from the first workload region whose STS answers: a dark region is reported as not
    answering, not a reason to report nothing."""
    env = load_environment(environments_dir, name)
    regions = [env.primary.name, *(r for r in env.roles if r != env.primary.name)]
    target, account = _proven_target(env, environments_dir, regions)
    return env, status.workload_status(env, target, account)


def failover_window(
    environments_dir: Path, name: str, to: str
) -> tuple[Environment, accounts.Clients, list[str]]:
    """Whether `to` can take over (a standby in the YAML), and what may be lost if it does,
    asked of `to` alone; the clients (acting in `to`) then serve `fail_over`."""
    env = load_environment(environments_dir, name)
    failover.refuse_unless_standby(env, to, str(environments_dir / f"{name}.yaml"))
    target, _ = _proven_target(env, environments_dir, [to])
    client = accounts.clients(target)
    return env, client, failover.loss_window(env, client, to)


def fail_over(env: Environment, client: accounts.Clients, to: str) -> list[str]:
    """Make `to` the writer and promote its database, with calls to `to` only."""
    return failover.fail_over(env, client, to)


def _proven_target(
    env: Environment, environments_dir: Path, regions: list[str]
) -> tuple[accounts.Target, str]:
    """Where `env`'s AWS is, in the first of `regions` whose STS answers, and the account the
    credentials act in there, proven to be the YAML's. Always asked, with or without
    aws.account_id: no credentials is an error, never a report of unknowns that exits 0."""
    first_error: AccountUnknown | None = None
    for region in regions:
        target = dataclasses.replace(aws_target(env), region=region)
        try:
            account = accounts.caller_account(target)
        except AccountUnknown as error:
            first_error = first_error or error
            continue
        if env.aws.account_id is not None:
            source = str(environments_dir / f"{env.name}.yaml")
            accounts.require_account(env.name, env.aws.account_id, target, source, account)
        return target, account
    raise first_error or AccountUnknown(f"{env.name} names no region to ask")
