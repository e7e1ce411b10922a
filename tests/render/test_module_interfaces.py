"""The root and the modules agree, both ways: every attribute a module call passes (inside
object-typed inputs too) is declared, so Terraform cannot silently drop it, and every required
input is passed. And no module declares a variable, local or data source it never uses (the
rule tflint calls terraform_unused_declarations)."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REAL_ENVS, REPO
from tests.hclparse import labelled

MODULES_DIR = REPO / "templates" / "modules"
META_ARGUMENTS = {"source", "providers", "depends_on", "count", "for_each", "version"}


# ---- Terraform type expressions, as python-hcl2 prints them ----


@dataclass(frozen=True)
class TfType:
    kind: str  # string, number, bool, any, list, set, map, object, tuple
    element: TfType | None = None
    attributes: dict[str, tuple[TfType, bool]] | None = None  # name -> (type, optional)


def parse_type(text: str) -> TfType:
    text = text.strip()
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    parsed, rest = _type(text.strip())
    assert not rest.strip(), f"unparsed type text: {rest!r}"
    return parsed


def _type(text: str) -> tuple[TfType, str]:
    match = re.match(r"\s*([a-z]+)\s*", text)
    assert match, f"not a type: {text!r}"
    kind, rest = match.group(1), text[match.end() :]
    if kind in ("string", "number", "bool", "any"):
        return TfType(kind), rest
    assert rest.startswith("("), f"{kind} without arguments: {text!r}"
    rest = rest[1:].lstrip()
    if kind == "object":
        attributes, rest = _attributes(rest)
        parsed = TfType(kind, attributes=attributes)
    else:
        element, rest = _type(rest)
        parsed = TfType(kind, element=element)
    rest = rest.lstrip()
    assert rest.startswith(")"), f"unclosed {kind}: {text!r}"
    return parsed, rest[1:]


def _attributes(text: str) -> tuple[dict[str, tuple[TfType, bool]], str]:
    assert text.startswith("{"), text
    rest, attributes = text[1:].lstrip(), {}
    while not rest.startswith("}"):
        match = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*", rest)
        assert match, f"bad attribute: {rest[:40]!r}"
        name, rest = match.group(1), rest[match.end() :]
        optional = rest.startswith("optional(")
        if optional:
            rest = rest[len("optional(") :]
        attribute_type, rest = _type(rest)
        if optional:
            rest = _skip_optional_default(rest)
        attributes[name] = (attribute_type, optional)
        rest = rest.lstrip().removeprefix(",").lstrip()
    return attributes, rest[1:]


def _skip_optional_default(text: str) -> str:
    """After `optional(T`: skip `, default)` or `)`."""
    depth, index = 0, 0
    while True:
        char = text[index]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                return text[index + 1 :]
            depth -= 1
        index += 1


# ---- Comparing what is passed with what is declared ----


def declared_variables(module: str, parsed_tree: dict) -> dict[str, dict]:
    return labelled(parsed_tree[f"modules/{module}/variables.tf"], "variable")


def mismatches(value: object, declared: TfType, where: str) -> list[str]:
    if isinstance(value, str) and value.startswith("${"):
        return []  # a reference: Terraform checks its type, and its shape is a module output
    if declared.kind == "object" and isinstance(value, dict):
        attributes = declared.attributes or {}
        found = [
            f"{where}.{key}: passed but not declared (dropped)"
            for key in value
            if key not in attributes
        ]
        found += [
            f"{where}.{key}: required but not passed"
            for key, (_, optional) in attributes.items()
            if not optional and key not in value
        ]
        for key, item in value.items():
            if key in attributes:
                found += mismatches(item, attributes[key][0], f"{where}.{key}")
        return found
    if declared.kind == "map" and isinstance(value, dict) and declared.element:
        return [
            m
            for key, item in value.items()
            for m in mismatches(item, declared.element, f"{where}[{key}]")
        ]
    if declared.kind in ("list", "set") and isinstance(value, list) and declared.element:
        return [
            m
            for i, item in enumerate(value)
            for m in mismatches(item, declared.element, f"{where}[{i}]")
        ]
    return []


def module_call_mismatches(parsed_tree: dict) -> list[str]:
    found = []
    for label, call in labelled(parsed_tree["main.tf"], "module").items():
        module = call["source"].removeprefix("./modules/")
        variables = declared_variables(module, parsed_tree)
        passed = {key: value for key, value in call.items() if key not in META_ARGUMENTS}
        found += [
            f"module.{label}.{key}: not a variable of {module}"
            for key in passed
            if key not in variables
        ]
        found += [
            f"module.{label}.{name}: required but not passed"
            for name, body in variables.items()
            if "default" not in body and name not in passed
        ]
        for key, value in passed.items():
            if key in variables and value is not None:
                found += mismatches(
                    value, parse_type(variables[key]["type"]), f"module.{label}.{key}"
                )
    return found


@pytest.mark.parametrize("env", REAL_ENVS)
def test_every_module_call_matches_the_declared_variables_both_ways(parsed, env):
    assert module_call_mismatches(parsed[env]) == []


def test_an_undeclared_attribute_inside_an_object_input_is_caught(parsed):
    tree = copy.deepcopy(parsed["dev"])  # the session's parsed trees are shared: never mutate
    calls = labelled(tree["main.tf"], "module")
    home = next(label for label, call in calls.items() if "table" in call)
    calls[home]["table"] = {**calls[home]["table"], "billing_mode": "PROVISIONED"}
    del calls[home]["table"]["deletion_protection"]
    assert module_call_mismatches(tree) == [
        f"module.{home}.table.billing_mode: passed but not declared (dropped)",
        f"module.{home}.table.deletion_protection: required but not passed",
    ]


def test_type_expressions_parse():
    parsed = parse_type(
        "${map(object({a = string, b = optional(list(number), []), c = object({d = bool})}))}"
    )
    assert parsed.kind == "map" and parsed.element is not None
    attributes = parsed.element.attributes or {}
    assert attributes["a"] == (TfType("string"), False)
    assert attributes["b"][1] is True and attributes["b"][0].kind == "list"
    assert attributes["c"][0].attributes == {"d": (TfType("bool"), False)}


# ---- Unused declarations ----


def unused_declarations(folder: Path) -> list[str]:
    text = "\n".join(path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.tf")))
    code = re.sub(r"#[^\n]*", "", text)  # comments do not count as use
    found = []
    for name in re.findall(r'^variable\s+"([^"]+)"', code, flags=re.M):
        if not re.search(rf"\bvar\.{re.escape(name)}\b", code):
            found.append(f"variable {name}")
    for block in re.findall(r"^locals\s*\{(.*?)^\}", code, flags=re.M | re.S):
        for name in re.findall(r"^\s{2}([A-Za-z_][A-Za-z0-9_]*)\s*=", block, flags=re.M):
            if not re.search(rf"\blocal\.{re.escape(name)}\b", code):
                found.append(f"local {name}")
    for kind, name in re.findall(r'^data\s+"([^"]+)"\s+"([^"]+)"', code, flags=re.M):
        if not re.search(rf"\bdata\.{re.escape(kind)}\.{re.escape(name)}\b", code):
            found.append(f"data {kind}.{name}")
    return found


@pytest.mark.parametrize("module", sorted(path.name for path in MODULES_DIR.iterdir()))
def test_modules_declare_nothing_they_do_not_use(module):
    assert unused_declarations(MODULES_DIR / module) == []


def test_an_unused_declaration_is_caught(tmp_path):
    (tmp_path / "main.tf").write_text(
        'variable "used" {}\nvariable "unused" {}\n'
        "locals {\n  kept = var.used\n  idle = 1\n}\n"
        'data "aws_region" "current" {}\n'
        'output "x" {\n  value = local.kept # var.unused in a comment is no use\n}\n'
    )
    assert unused_declarations(tmp_path) == [
        "variable unused",
        "local idle",
        "data aws_region.current",
    ]
