"""The rendered graph is sound: every module input is wired, every reference resolves, nothing
is declared twice."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from tests.conftest import REAL_ENVS
from tests.hclparse import labelled
from tests.stackfacts import blocks

MODULE_REFERENCE = re.compile(r"module\.([a-z0-9_]+)\.([a-z0-9_]+)")


def module_interface(tree: dict, module: str) -> tuple[dict, set[str]]:
    variables, outputs = {}, set()
    for path, document in tree.items():
        if path.startswith(f"modules/{module}/"):
            variables.update(labelled(document, "variable"))
            outputs |= set(labelled(document, "output"))
    return variables, outputs


@pytest.mark.parametrize("env", REAL_ENVS)
def test_every_module_input_is_declared_and_every_required_one_given(parsed, env):
    tree = parsed[env]
    for label, call in labelled(tree["main.tf"], "module").items():
        module = call["source"].removeprefix("./modules/")
        variables, _ = module_interface(tree, module)
        arguments = set(call) - {"source", "providers"}
        assert arguments <= set(variables), (label, arguments - set(variables))
        required = {name for name, spec in variables.items() if "default" not in spec}
        assert required <= arguments, (label, required - arguments)


@pytest.mark.parametrize("env", REAL_ENVS)
def test_every_module_reference_resolves_to_a_declared_output(parsed, env):
    tree = parsed[env]
    calls = labelled(tree["main.tf"], "module")
    text = repr(tree["main.tf"]) + repr(tree["outputs.tf"])
    references = set(MODULE_REFERENCE.findall(text))
    assert references
    for label, output in references:
        module = calls[label]["source"].removeprefix("./modules/")
        _, outputs = module_interface(tree, module)
        assert output in outputs, f"module.{label}.{output}"


@pytest.mark.parametrize("env", REAL_ENVS)
def test_nothing_is_declared_twice(parsed, env):
    tree = parsed[env]
    for kind in ("resource", "data"):
        addresses = Counter((b.module, b.type, b.name) for b in blocks(tree, kind))
        assert [a for a, n in addresses.items() if n > 1] == []
    for kind in ("variable", "output"):
        names = Counter(
            (path.split("/")[1] if path.startswith("modules/") else "root", name)
            for path, document in tree.items()
            for name in labelled(document, kind)
        )
        assert [a for a, n in names.items() if n > 1] == []


@pytest.mark.parametrize("env", REAL_ENVS)
def test_every_variable_and_output_is_described_and_typed(parsed, env):
    tree = parsed[env]
    for path, document in tree.items():
        for name, spec in labelled(document, "variable").items():
            assert spec.get("description") and spec.get("type"), f"{path}: {name}"
        for name, spec in labelled(document, "output").items():
            assert spec.get("description"), f"{path}: {name}"
