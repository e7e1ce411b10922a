"""A one-root state cut into the states of `layout: region-roots` (docs/region-roots.md): each
resource goes to the root that holds its module call, by the same address, so that no
resource is destroyed or recreated; the state identity goes to every root, the environment's
outputs to `links/`. Pure: state JSON in, state JSON out."""

from __future__ import annotations

import uuid

from payinfra.config import Environment
from payinfra.errors import Refused
from payinfra.render.constants import STATE_IDENTITY_OUTPUT
from payinfra.render.regions import LINKS_FOLDER, root_folders, root_of


def split_state(env: Environment, state: dict, called: set[str]) -> dict[str, dict]:
    """{root folder: state} for every root of the layout; `called`: the module labels the
    layout's roots call. Refused when a resource is at an address the layout does not call
    (an older payinfra's: the one-root apply of this payinfra moves it first)."""
    resources = [entry for entry in state.get("resources", []) if entry.get("mode") == "managed"]
    stray = sorted(
        {entry.get("module") or entry["type"] for entry in resources if not _called(entry, called)}
    )
    if stray:
        raise Refused(
            f"{env.name}'s state holds {', '.join(stray)}, which this payinfra does not keep "
            f"there; apply with layout: one-root first (its moved blocks carry them), then move "
            f"the state; nothing was changed"
        )
    outputs = state.get("outputs", {})
    split = {}
    identity = {k: v for k, v in outputs.items() if k == STATE_IDENTITY_OUTPUT}
    for folder in root_folders(env):
        kept = dict(outputs) if folder == LINKS_FOLDER else identity
        split[folder] = {
            "version": state.get("version", 4),
            "terraform_version": state.get("terraform_version", ""),
            "serial": 1,
            "lineage": str(uuid.uuid4()),
            "outputs": kept,
            "resources": [entry for entry in resources if _root(env, entry) == folder],
            "check_results": None,
        }
    return split


def _called(entry: dict, called: set[str]) -> bool:
    module = entry.get("module", "")
    return bool(module) and module.split(".")[1] in called


def _root(env: Environment, entry: dict) -> str:
    return root_of(env, f"{entry['module']}.{entry['type']}.{entry['name']}")
