"""Shared fixtures: the real environments rendered once, and builders for throwaway YAML."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from payinfra.config import load_environment
from payinfra.render import render_environment
from payinfra.writer import write_tree
from tests.hclparse import parse_tree

REPO = Path(__file__).resolve().parent.parent
ENVIRONMENTS = REPO / "environments"
REAL_ENVS = ("dev", "staging", "prod")


@pytest.fixture(scope="session")
def rendered_roots(tmp_path_factory) -> dict[str, Path]:
    """Each real environment rendered once into its own folder for the whole session."""
    out = tmp_path_factory.mktemp("out")
    roots = {}
    for name in REAL_ENVS:
        write_tree(render_environment(load_environment(ENVIRONMENTS, name)), out / name)
        roots[name] = out / name
    return roots


@pytest.fixture(scope="session")
def parsed(rendered_roots) -> dict[str, dict]:
    """Each rendered environment parsed with python-hcl2: {env: {relative_path: hcl_dict}}."""
    return {name: parse_tree(root) for name, root in rendered_roots.items()}


@pytest.fixture
def env_dir(tmp_path) -> EnvironmentsFolder:
    """A copy of the real environments folder that a test may edit."""
    folder = tmp_path / "environments"
    shutil.copytree(ENVIRONMENTS, folder)
    return EnvironmentsFolder(folder)


class EnvironmentsFolder:
    def __init__(self, path: Path):
        self.path = path

    def write(self, name: str, data: dict | str) -> Path:
        text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
        target = self.path / f"{name}.yaml"
        target.write_text(text, encoding="utf-8")
        return target

    def defaults(self) -> dict:
        return yaml.safe_load((self.path / "_defaults.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def moto_server():
    from tests.toolchain import MotoServer

    server = MotoServer()
    yield server
    server.stop()
