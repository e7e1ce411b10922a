"""Taking over a running reference stack (the CDKTF app payinfra replaces) in place: its state
read only (source), recognised (stack), mapped onto payinfra's addresses (mapping), checked
against the environment's YAML (checks), which is written from it when there is none
(environment). `survey` reads and checks; `write_environment` and `record` are the two writes
(docs/adoption.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from payinfra import accounts, states, workspace, writer
from payinfra.adoption.checks import Contradiction, contradictions
from payinfra.adoption.environment import environment_yaml
from payinfra.adoption.mapping import Row, mapping
from payinfra.adoption.release import Released, release, write_old
from payinfra.adoption.source import S3_SCHEME, read_source, read_text
from payinfra.adoption.stack import TARGET_REGION, ReferenceStack, reference_stack
from payinfra.adoption_record import ADOPTION_RECORD, Import, read_record, record_text
from payinfra.config import Environment, load_environment
from payinfra.config.loading import ENV_NAME
from payinfra.errors import AdoptionRefused, ConfigError, Refused
from payinfra.render.regions import root_folders

__all__ = [
    "Contradiction",
    "Released",
    "Row",
    "Survey",
    "has_environment",
    "record",
    "release_old_state",
    "survey",
    "write_environment",
]


@dataclass(frozen=True)
class Survey:
    env: Environment
    env_file: Path
    stack: ReferenceStack
    rows: list[Row]
    contradictions: list[Contradiction]


def survey(environments_dir: Path, name: str, source: str) -> Survey:
    """Read `source` (never writing it), recognise the reference stack in it, refuse a state of
    another account than the one ENV's credentials act in, and map and check it."""
    env = load_environment(environments_dir, name)
    target = workspace.aws_target(env)
    stack = reference_stack(read_source(source, _s3_client(source, target)), source)
    acting = accounts.caller_account(target)
    if acting != stack.account_id:
        raise AdoptionRefused(
            f"{source}: its resources are in account {stack.account_id}; the credentials for "
            f"{name} act in {acting}"
        )
    return Survey(
        env=env,
        env_file=environments_dir / f"{name}.yaml",
        stack=stack,
        rows=mapping(stack),
        contradictions=contradictions(env, stack),
    )


def has_environment(environments_dir: Path, name: str) -> bool:
    return (environments_dir / f"{name}.yaml").is_file()


def write_environment(environments_dir: Path, name: str, source: str) -> tuple[Path, int]:
    """Write `environments/<name>.yaml` from the state at `source` (never over an existing
    file); (the file, how many resources the state holds)."""
    if not ENV_NAME.fullmatch(name):
        raise ConfigError([f"{name!r} is not an environment name"])
    path = environments_dir / f"{name}.yaml"
    # No environment yet: the default credentials, as the state's own tool used them.
    s3 = _s3_client(source, accounts.Target(region=TARGET_REGION))
    stack = reference_stack(read_source(source, s3), source)
    mapping(stack)  # a state that cannot be mapped is refused before anything is written
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(environment_yaml(stack, name))
    except FileExistsError:
        raise AdoptionRefused(f"{path} appeared meanwhile; run `payinfra adopt` again") from None
    return path, len(stack.resources)


def record(found: Survey, out_dir: Path) -> Path:
    """Record the import blocks beside the environment's root and render it with them
    (`adoption.tf`), under the root's lock; the rendered root's folder."""
    root = out_dir / found.env.name
    imports = [
        Import(row.target, row.import_id or "", row.reference if row.resource else "")
        for row in found.rows
        if row.target
    ]
    with writer.locked(root):
        writer.write_record(root, ADOPTION_RECORD, record_text(found.stack.source, imports))
        workspace.render_locked(found.env, root)
    return root


def release_old_state(
    environments_dir: Path,
    name: str,
    out_dir: Path,
    terraform: str | None,
    confirm: Callable[[str], bool] | None,
) -> tuple[str, Released]:
    """Remove what payinfra adopted from the reference stack's state (backup kept), once
    payinfra's state holds all of it; the adoption then ends (`adoption.tf` is no longer
    rendered). A protected environment's name must be typed (`confirm`). (source, outcome)."""
    with workspace.workspace(
        environments_dir, name, out_dir, render_first=False, terraform=terraform
    ) as ws:
        record_file = ws.root / ADOPTION_RECORD
        if not record_file.is_file():
            raise AdoptionRefused(f"{name} has no adoption in progress ({record_file} is absent)")
        source, imports = read_record(record_file.read_text(encoding="utf-8"))
        s3 = _s3_client(source, workspace.aws_target(ws.env))
        old = read_text(source, s3)
        new, released = release(source, old, imports, _payinfra_state(ws))
        if new is not None:
            if ws.env.protected and not (confirm and confirm(f"Type {name} to release {source}")):
                raise Refused(
                    f"{name} is protected: its name must be typed; {source} was not changed"
                )
            write_old(released, source, old, new, s3)
        writer.remove_record(ws.root, ADOPTION_RECORD)
        workspace.render_locked(ws.env, ws.root)
    return source, released


def _payinfra_state(ws: workspace.Workspace) -> dict | None:
    """What payinfra's state holds: the one root's, or every root's resources together (each
    address lives in exactly one root of `layout: region-roots`)."""
    if ws.env.layout == "one-root":
        return states.state_of(ws)
    found = [states.state_of(ws.at(folder)) for folder in root_folders(ws.env)]
    return {"resources": [entry for state in found if state for entry in state["resources"]]}


def _s3_client(source: str, target: accounts.Target) -> Any:
    """The S3 client an `s3://` source is read (and released) with, acting as `target`;
    None for a file."""
    if not source.startswith(S3_SCHEME):
        return None
    return accounts.clients(target)("s3", TARGET_REGION)
