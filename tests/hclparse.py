"""Read rendered HCL back with python-hcl2 into plain Python values.

Strings come back with their escapes decoded, except that python-hcl2 leaves HCL's literal-dollar
escapes (`$${`, `%%{`) as written, so an interpolation `${...}` is always told apart from text.
"""

from __future__ import annotations

from pathlib import Path

import hcl2

_OPTIONS = hcl2.SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True
)


def parse(text: str) -> dict:
    return hcl2.loads(text, serialization_options=_OPTIONS)


def parse_tree(root: Path) -> dict[str, dict]:
    return {
        str(path.relative_to(root)): parse(path.read_text(encoding="utf-8"))
        for path in sorted(root.rglob("*.tf"))
        if ".terraform" not in path.parts
    }


def literal_text(parsed: str) -> str:
    """The value a parsed HCL string literal stands for, once its template escapes are undone."""
    return parsed.replace("$${", "${").replace("%%{", "%{")


def labelled(document: dict, kind: str) -> dict[str, dict]:
    """{label: body} for single-label blocks such as module, output, variable, provider."""
    return {name: body for block in document.get(kind, []) for name, body in block.items()}


def resources(tree: dict[str, dict], resource_type: str) -> dict[str, dict]:
    """{name: body} of every resource of one type across the files of a parsed tree."""
    found = {}
    for document in tree.values():
        for block in document.get("resource", []):
            for name, body in block.get(resource_type, {}).items():
                found[name] = body
    return found


def module_files(tree: dict[str, dict], module: str) -> dict[str, dict]:
    prefix = f"modules/{module}/"
    return {path: doc for path, doc in tree.items() if path.startswith(prefix)}
