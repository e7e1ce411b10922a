"""The Terraform state of one workspace, read without starting terraform where it can be: a
local state from its file, a remote one through `terraform state pull` or `output -json`."""

from __future__ import annotations

import json
from pathlib import Path

from payinfra.errors import TerraformOutputUnreadable
from payinfra.workspace import Workspace

LOCAL_STATE = "terraform.tfstate"


def read_state(text: str) -> dict | None:
    """A state as terraform reads it: no text is no state ({}: a terraform killed while writing
    leaves an empty file, a remote state never written pulls as nothing); None when the text is
    no state at all."""
    try:
        state = json.loads(text) if text.strip() else {}
    except ValueError:
        return None
    return state if isinstance(state, dict) else None


def resource_address(entry: dict) -> str:
    """A state resource's address without an instance key: `module.x.aws_vpc.this`, or
    `aws_vpc.this` for one of the root module's."""
    return ".".join(
        part for part in (entry.get("module"), entry.get("type"), entry.get("name")) if part
    )


def read_local_state(path: Path) -> dict | None:
    """The local state file at `path` ({} when there is none), None when it cannot be read."""
    try:
        return read_state(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError):
        return None


def outputs_of(ws: Workspace) -> dict:
    """The state's outputs as `terraform output -json` shows them; a local state is read
    straight from its file (what terraform would do, without starting terraform)."""
    state = read_local_state(ws.root / LOCAL_STATE) if ws.env.backend.type == "local" else None
    return outputs_in(state, ws)


def outputs_in(state: dict | None, ws: Workspace) -> dict:
    """The outputs a state read already holds; where it could not be read (None), terraform's
    own `output -json`, which reports what is wrong with it."""
    if state is None:
        return output_values(ws)
    outputs = state.get("outputs")
    return outputs if isinstance(outputs, dict) else {}


def is_empty(ws: Workspace) -> bool:
    """Whether the state holds no resource."""
    return holds_nothing(state_of(ws))


def holds_nothing(state: dict | None) -> bool:
    # A state that cannot be read is not called empty: terraform reports what is wrong with it.
    return state is not None and not state.get("resources")


def state_of(ws: Workspace) -> dict | None:
    """The state: a local one read from its file, a remote one through `terraform state pull`,
    which prints nothing where no state was ever written (where `state list` fails)."""
    if ws.env.backend.type == "local":
        return read_local_state(ws.root / LOCAL_STATE)
    return read_state(ws.terraform.output_of("state", "pull"))


def output_values(ws: Workspace) -> dict:
    text = ws.terraform.output_of("output", "-json").strip()
    try:
        values = json.loads(text) if text else {}
    except ValueError:
        raise TerraformOutputUnreadable("terraform output -json did not print JSON") from None
    return values if isinstance(values, dict) else {}
