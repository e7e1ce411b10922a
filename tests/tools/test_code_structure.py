"""How payinfra/ is built: the layers import in one direction (each module imports only modules
of its own layer or below, nothing imports the CLI, config imports no other layer, no cycle),
and every failure raised has a name of its own."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter

from tests.conftest import REPO

# Lowest first. A module may import its own layer and any below it.
LAYERS = [
    {"errors", "hcl", "assets", "regions", "awsnames", "yamlio", "access_drift", "package"},
    {"config"},
    {"render"},
    {
        "writer",
        "terraform",
        "accounts",
        "emulator",
        "plansummary",
        "status",
        "preflight",
        "failover",
        "fencing",
        "leftovers",
        "tablereplicas",
        "adoption_record",
        "statesplit",
    },
    {"safety", "workspace", "states", "statestore", "adoption"},
    {"lifecycle", "validate", "bootstrap"},
    {"roots"},
    {
        "cli",
        "cli_options",
        "cli_reports",
        "cli_emulator",
        "cli_envs",
        "__main__",
        "emulator_server",
        "__init__",
    },
]


def imports() -> dict[str, set[str]]:
    """{module: the payinfra modules it imports}; a package (config) is one module."""
    graph: dict[str, set[str]] = {}
    for path in sorted((REPO / "payinfra").rglob("*.py")):
        relative = path.relative_to(REPO / "payinfra")
        name = relative.parts[0] if len(relative.parts) > 1 else path.stem
        found = graph.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("payinfra"):
                parts = (node.module or "").split(".")
                if len(parts) > 1:
                    found.add(parts[1])
                else:
                    found |= {alias.name for alias in node.names if alias.name != "__version__"}
        found.discard(name)  # a package's modules import each other
    return graph


def layer_of(module: str) -> int:
    (index,) = [index for index, layer in enumerate(LAYERS) if module in layer]
    return index


def test_every_module_has_a_layer():
    assert set(imports()) == set().union(*LAYERS)


def test_no_module_imports_a_layer_above_its_own():
    upward = [
        f"{module} -> {imported}"
        for module, imported_modules in imports().items()
        for imported in imported_modules
        if layer_of(imported) > layer_of(module)
    ]
    assert upward == []


def test_nothing_imports_the_cli_and_config_imports_no_other_layer():
    graph = imports()
    assert [module for module, found in graph.items() if "cli" in found] == ["__main__"]
    assert graph["config"] <= LAYERS[0]


def test_the_import_graph_has_no_cycle():
    try:
        list(TopologicalSorter(imports()).static_order())
    except CycleError as cycle:  # pragma: no cover - the assertion's message
        raise AssertionError(f"import cycle: {cycle.args[1]}") from None


def test_config_imports_one_way_loading_rules_models():
    def imported(module: str) -> set[str]:
        tree = ast.parse((REPO / "payinfra" / "config" / f"{module}.py").read_text())
        return {
            node.module.rsplit(".", 1)[-1]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and (node.module or "").startswith("payinfra.config")
        }

    assert imported("models") == set()
    assert imported("rules") == {"models"}
    assert imported("loading") == {"models", "rules"}


def test_every_failure_has_a_name_of_its_own():
    """No bare `raise PayinfraError(...)`: each failure is a class in payinfra/errors.py."""
    bare = [
        f"{path.relative_to(REPO)}:{node.lineno}"
        for path in sorted((REPO / "payinfra").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Raise)
        and isinstance(node.exc, ast.Call)
        and isinstance(node.exc.func, ast.Name)
        and node.exc.func.id == "PayinfraError"
    ]
    assert bare == []


def test_no_module_grows_into_a_grab_bag():
    """lifecycle.py keeps the terraform runs only (under 450 lines); no module over 600."""
    sizes = {
        str(path.relative_to(REPO)): len(path.read_text().splitlines())
        for path in (REPO / "payinfra").rglob("*.py")
    }
    assert sizes["payinfra/lifecycle.py"] < 450
    assert {path: lines for path, lines in sizes.items() if lines > 600} == {}
