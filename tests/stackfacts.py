"""Walk a parsed Terraform tree: every resource, data source and module call with its file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    file: str
    kind: str  # "resource" or "data"
    type: str
    name: str
    body: dict

    @property
    def module(self) -> str:
        parts = self.file.split("/")
        return parts[1] if parts[0] == "modules" else "root"


def blocks(tree: dict[str, dict], kind: str = "resource") -> Iterator[Block]:
    for file, document in tree.items():
        for entry in document.get(kind, []):
            for type_name, named in entry.items():
                for name, body in named.items():
                    yield Block(file, kind, type_name, name, body)


def of_type(tree: dict[str, dict], type_name: str, kind: str = "resource") -> list[Block]:
    return [block for block in blocks(tree, kind) if block.type == type_name]


def one(tree: dict[str, dict], type_name: str, name: str, module: str) -> dict:
    (found,) = [
        block.body
        for block in of_type(tree, type_name)
        if block.name == name and block.module == module
    ]
    return found


def calls(tree: dict[str, dict], module: str) -> dict[str, dict]:
    """{label: body} of the module calls made inside one module (its shared submodules)."""
    return {
        label: body
        for file, document in tree.items()
        if file.startswith(f"modules/{module}/")
        for entry in document.get("module", [])
        for label, body in entry.items()
    }


def key_of(tree: dict[str, dict], module: str, label: str) -> dict:
    """The kms-key call `label` in `module`: every customer-managed key is made by kms-key."""
    call = calls(tree, module)[label]
    assert call["source"] == "../kms-key", call
    return call


def declared_addresses(tree: dict[str, dict], module: str) -> set[str]:
    """Every resource address a module declares, its submodules' resources included
    (`module.<label>.<type>.<name>`, one level deep, as the shared submodules are called)."""
    found = {f"{b.type}.{b.name}" for b in blocks(tree) if b.module == module}
    for label, call in calls(tree, module).items():
        child = call["source"].removeprefix("../")
        found |= {f"module.{label}.{b.type}.{b.name}" for b in blocks(tree) if b.module == child}
    return found


def moves_in(tree: dict[str, dict], module: str) -> dict[str, str]:
    """{from: to} of the `moved` blocks inside one module, without their ${...}."""
    return {
        move["from"][2:-1]: move["to"][2:-1]
        for file, document in tree.items()
        if file.startswith(f"modules/{module}/")
        for move in document.get("moved", [])
    }
