"""Every safety rule payinfra enforces around terraform, in one place.

- Arguments after `--` are an allow-list per command (`check_extra_args`).
- apply applies exactly the plan `payinfra plan` made and summarised: the plan record binds the
  plan file's digest, the render's digest, the environment and its protection; the summary is
  re-derived from the plan file itself, and a plan narrowed by -target only with the whole
  environment's verdict recorded beside it (`check_reviewed`, `reviewed_summary`).
- DATA LOSS needs --allow-destroy in a protected environment; a standalone database is never
  turned into a replica in place (`refuse_unapplicable`).
- Protection belongs to the state: once an out folder (or a state) has been protected, a YAML
  that says otherwise is refused until `payinfra unprotect` was typed at a terminal.
- Credentials must act in the YAML's account before any state is read (`check_account`), and
  state is never kept on a CI runner (`refuse_state_on_a_ci_runner`).
- Typed confirmations need a terminal (`confirm_by_name`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeGuard

from payinfra import accounts, writer
from payinfra.config import Environment
from payinfra.errors import Refused, UsageError
from payinfra.plansummary import (
    CANNOT_BE_APPLIED,
    DATA_LOSS,
    VERDICT_KEYS,
    PlanSummary,
    is_targeted,
    summarize,
)

PLAN_FILE = "plan.tfplan"
PLAN_RECORD = "plan.payinfra.json"
# apply verifies and applies a private copy, so the bytes checked are the bytes applied.
APPLYING_PLAN = ".payinfra-applying.tfplan"
PROTECTION_RECORD = ".payinfra-protection.json"

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


# ---- State that outlives the run ----

CI_ENV = "CI"


def refuse_state_on_a_ci_runner(env: Environment, env_file: Path) -> None:
    """A local state written on a CI runner is thrown away with the runner: the next run would
    plan to create everything again. CI sets CI=true; an emulator environment is exempt (its
    whole world is thrown away too)."""
    on_ci = os.environ.get(CI_ENV, "").lower() in ("true", "1")
    if on_ci and env.backend.type == "local" and env.emulator is None:
        raise Refused(
            f"{env_file}: backend.type is local and this runs in CI ({CI_ENV}=true), where the "
            "state would be thrown away with the runner; use backend.type: s3 "
            "(docs/deploying.md)"
        )


# ---- The account ----


def check_account(env: Environment, env_file: Path, target: accounts.Target) -> None:
    """Refuse before terraform runs when the credentials act in another account."""
    if env.aws.account_id is None:
        return
    accounts.require_account(env.name, env.aws.account_id, target, str(env_file))


# ---- Protection belongs to the state ----


def guard_protection(env: Environment, root: Path) -> None:
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


def guard_state_identity(env: Environment, root: Path, identity: dict | None) -> None:
    """The state itself records its environment and protection (root output); check them."""
    if identity is None:
        return
    if identity["name"] != env.name:
        raise Refused(
            f"the state in {root} belongs to environment {identity['name']!r}, not "
            f"{env.name!r}; check the backend settings in the YAML"
        )
    if identity["protected"] and not env.protected and not _protection_lowered(root):
        raise Refused(
            f"the state of {env.name} is protected, but its YAML says it is not. Lowering "
            f"protection needs `payinfra unprotect {env.name}`, typed at a terminal, first"
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
        confirm_by_name(name, auto_approve=False, confirm=confirm, action="unprotect")
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        _write_protection(root, name, False, lowered_at=stamp)


# ---- Confirmation ----


def confirm_destroy(
    env: Environment, env_file: Path, *, force: bool, auto_approve: bool, confirm: Confirm | None
) -> None:
    """A protected environment needs --force and its name typed; any other, its name typed or
    --auto-approve."""
    refuse_state_on_a_ci_runner(env, env_file)
    if env.protected:
        if not force:
            raise Refused(
                f"{env.name} is protected; destroying it needs --force and the environment "
                "name typed at the prompt"
            )
        # --auto-approve never suffices for a protected environment: a person must type.
        confirm_by_name(env.name, auto_approve=False, confirm=confirm, action="destroy")
    else:
        confirm_by_name(env.name, auto_approve=auto_approve, confirm=confirm, action="destroy")


def confirm_by_name(name: str, *, auto_approve: bool, confirm: Confirm | None, action: str) -> None:
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


# ---- apply applies exactly what was reviewed ----


def write_plan_record(
    root: Path, env: Environment, summary: PlanSummary, *, tree: Path, **extra: object
) -> None:
    """What `payinfra plan` showed, bound to the plan file, the render (`tree`: the rendered
    folder that holds the root), the environment and its protection."""
    record: dict[str, object] = {
        "environment": env.name,
        "protected": env.protected,
        "render_sha256": writer.tree_digest(tree),
        "plan_sha256": file_sha256(root / PLAN_FILE),
        **extra,
        "summary": summary.as_json(),
    }
    (root / PLAN_RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_plan_record(root: Path, env_name: str) -> dict:
    if not (root / PLAN_FILE).is_file() or not (root / PLAN_RECORD).is_file():
        raise Refused(f"no saved plan in {root}; run `payinfra plan {env_name}` first")
    try:
        record = json.loads((root / PLAN_RECORD).read_text(encoding="utf-8"))
        keys = ("environment", "protected", "render_sha256", "plan_sha256", "summary")
        if not isinstance(record, dict) or any(key not in record for key in keys):
            raise ValueError("a key is missing")
    except (OSError, ValueError) as exc:
        raise Refused(
            f"{root / PLAN_RECORD} is damaged ({exc}); run `payinfra plan {env_name}` again"
        ) from None
    return dict(record)


def check_reviewed(
    env: Environment, root: Path, record: dict, applying: Path, *, tree: Path
) -> None:
    """Refuse unless `applying` is the very plan file that was made and summarised for this
    render (of `tree`), environment and protection."""
    again = f"run `payinfra plan {env.name}` again"
    if record["render_sha256"] != writer.tree_digest(tree):
        raise Refused(f"the rendered files changed since the plan in {root} was made; {again}")
    if record["plan_sha256"] != file_sha256(applying):
        raise Refused(f"{root / PLAN_FILE} was replaced after `payinfra plan`; {again}")
    if record["environment"] != env.name or record["protected"] != env.protected:
        raise Refused(
            f"the saved plan was made for {record['environment']} with protected: "
            f"{str(record['protected']).lower()}, not for {env.name} with protected: "
            f"{str(env.protected).lower()}; {again}"
        )


def reviewed_summary(env: Environment, root: Path, record: dict, shown: dict) -> PlanSummary:
    """The summary re-derived from the plan file (`terraform show -json` of the copy being
    applied): a targeted plan is judged with the whole environment's recorded verdict. Refused
    unless it is the summary shown at plan time."""
    again = f"run `payinfra plan {env.name}` again"
    summary = summarize(shown)
    if is_targeted(shown):
        whole = record.get("whole_environment")
        if not _is_verdict(whole):
            raise Refused(
                f"{root / PLAN_FILE} was narrowed by -target but carries no judgement of the "
                f"whole environment; {again}"
            )
        summary = summary.judged_with(whole)
    if summary.as_json() != record["summary"]:
        raise Refused(f"the plan file no longer matches the summary shown at plan time; {again}")
    return summary


def _is_verdict(value: object) -> TypeGuard[dict[str, list[str]]]:
    return isinstance(value, dict) and all(
        isinstance(value.get(key), list) and all(isinstance(item, str) for item in value[key])
        for key in VERDICT_KEYS
    )


def refuse_unapplicable(env: Environment, summary: PlanSummary, *, allow_destroy: bool) -> None:
    """A plan RDS cannot perform is never applied; a protected environment's plan that loses
    data needs --allow-destroy. The refusal says what `plan` said, in the same words."""
    found = summary.findings()
    impossible = [finding.text() for finding in found if finding.verdict == CANNOT_BE_APPLIED]
    if impossible:
        raise Refused(f"{'; '.join(impossible)}; nothing was changed")
    losses = [finding.text() for finding in found if finding.verdict == DATA_LOSS]
    if env.protected and losses and not allow_destroy:
        whole = (
            " (judged on the whole environment: -target narrowed the plan, not the rule)"
            if summary.judged_on_whole_environment
            else ""
        )
        raise Refused(
            f"{env.name} is protected and the plan loses data (destroys, replaces, or starts a "
            f"database empty){whole}: {'; '.join(losses)}; re-run with --allow-destroy if "
            "that is intended"
        )
