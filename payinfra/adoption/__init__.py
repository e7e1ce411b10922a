"""Taking over a running reference stack (the CDKTF app payinfra replaces) in place: its state
read only (source), recognised (stack), mapped onto payinfra's addresses (mapping), and
checked against the environment's YAML (checks). `survey` does all four for the CLI.

This release reports; it writes nothing (docs/adoption.md says what is built and what is not).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from payinfra import accounts, workspace
from payinfra.adoption.checks import Contradiction, contradictions
from payinfra.adoption.mapping import Row, mapping
from payinfra.adoption.source import S3_SCHEME, read_source
from payinfra.adoption.stack import TARGET_REGION, ReferenceStack, reference_stack
from payinfra.config import Environment, load_environment
from payinfra.errors import AdoptionRefused

__all__ = ["Contradiction", "Row", "Survey", "survey"]


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
    s3 = accounts.clients(target)("s3", TARGET_REGION) if source.startswith(S3_SCHEME) else None
    stack = reference_stack(read_source(source, s3), source)
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
