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
