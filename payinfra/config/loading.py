"""Load `environments/<env>.yaml` over `_defaults.yaml`, remember where every value came from
(its provenance), validate it into an Environment, and report every problem at once, each naming
its file, key path, value and what was expected."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from pydantic import (
    ValidationError,
)
from pydantic_core import ErrorDetails

from payinfra.config.models import (
    DEFAULTS_FILE,
    ENV_NAME,
    Environment,
)
from payinfra.config.rules import (
    Problem,
    consistency_problems,
)
from payinfra.errors import ConfigError
from payinfra.yamlio import load_mapping


def list_environments(environments_dir: Path) -> list[str]:
    """Environment names: every `<name>.yaml` that is not a `_`-prefixed shared file."""
    if not environments_dir.is_dir():
        raise ConfigError([f"{environments_dir}: environments directory not found"])
    return sorted(
        path.stem
        for path in environments_dir.glob("*.yaml")
        if not path.name.startswith("_") and ENV_NAME.fullmatch(path.stem)
    )


def load_environment(environments_dir: Path, name: str) -> Environment:
    """Read, merge and validate one environment, or raise ConfigError listing every problem."""
    env_file = _environment_file(environments_dir, name)
    defaults_file = environments_dir / DEFAULTS_FILE
    merged: dict[str, Any] = {}
    origins: dict[tuple, Path] = {}
    for path in (defaults_file, env_file):
        if path.exists():
            _merge(merged, load_mapping(path), path, (), origins)
    merged["name"] = name
    origins[("name",)] = env_file
    try:
        return _validated(merged)
    except ValidationError as exc:
        problems = [_from_pydantic(error) for error in exc.errors()]
        # Cross-field problems too, in the same run: check what is left without the bad keys.
        salvaged = _without_problems(merged, problems)
        if salvaged is not None:
            problems += consistency_problems(salvaged[0], regions_complete=salvaged[1])
        raise ConfigError(_describe(problems, origins, env_file)) from None
    except _Inconsistent as inconsistent:
        raise ConfigError(_describe(inconsistent.problems, origins, env_file)) from None


class _Inconsistent(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems


def _validated(merged: dict[str, Any]) -> Environment:
    environment = Environment.model_validate(merged)
    problems = consistency_problems(environment, regions_complete=True)
    if problems:
        raise _Inconsistent(problems)
    return environment


_STAND_IN_REGIONS = [
    {"name": name, "role": role, "cidr": cidr, "azs": [f"{name}a", f"{name}b"]}
    for name, role, cidr in (
        ("us-east-1", "source", "10.0.0.0/16"),
        ("eu-west-1", "target", "10.1.0.0/16"),
    )
]


def _without_problems(
    merged: dict[str, Any], problems: list[Problem]
) -> tuple[Environment, bool] | None:
    """The environment with every key that failed its schema removed (a bad region entirely),
    so that cross-field checks can still run on the rest; None when too little is left."""
    trimmed = copy.deepcopy(merged)
    dropped_regions: set[int] = set()
    for problem in problems:
        path = problem.path
        if len(path) >= 2 and path[0] == "regions" and isinstance(path[1], int):
            dropped_regions.add(path[1])
        elif path[:1] == ("workload",):
            # A half-read workload would only mislead the rules about its primary.
            trimmed.pop("workload", None)
        elif path[:2] == ("api", "weights"):
            for key in ("weights", "routing"):
                trimmed.get("api", {}).pop(key, None)
        elif len(path) >= 1 and path[0] != "regions":
            _delete(trimmed, path)
        else:
            return None
    if dropped_regions:
        # The rules that read regions are skipped then; stand-ins let the rest be checked.
        trimmed["regions"] = copy.deepcopy(_STAND_IN_REGIONS)
    try:
        return Environment.model_validate(trimmed), not dropped_regions
    except ValidationError:
        return None


def _delete(mapping: dict[str, Any], path: tuple) -> None:
    parent: Any = mapping
    for part in path[:-1]:
        if not isinstance(parent, dict) or part not in parent:
            return
        parent = parent[part]
    if isinstance(parent, dict):
        parent.pop(path[-1], None)


def _environment_file(environments_dir: Path, name: str) -> Path:
    if not ENV_NAME.fullmatch(name):
        raise ConfigError(
            [
                f"{name!r} is not an environment name; expected up to 16 lowercase letters, "
                "digits and single inner '-', starting with a letter"
            ]
        )
    path = environments_dir / f"{name}.yaml"
    if not path.is_file():
        known = list_environments(environments_dir)
        raise ConfigError(
            [f"{path}: no such environment {name!r}; known: {', '.join(known) or 'none'}"]
        )
    return path


def _merge(target: dict, overlay: dict, source: Path, prefix: tuple, origins: dict) -> None:
    """Deep-merge mappings; any other value (lists included) replaces what was there.
    `origins` records the file of every value that is not a mapping."""
    for key, value in overlay.items():
        path = (*prefix, key)
        if isinstance(value, dict):
            if not isinstance(target.get(key), dict):
                target[key] = {}
                _forget(origins, path)
            _merge(target[key], value, source, path, origins)
        else:
            target[key] = _copy_mappings(value)
            _forget(origins, path)
            origins[path] = source


def _forget(origins: dict, path: tuple) -> None:
    for known in [known for known in origins if known[: len(path)] == path]:
        del origins[known]


def _copy_mappings(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy_mappings(item) for key, item in value.items()}
    return value


def _from_pydantic(error: ErrorDetails) -> Problem:
    loc = tuple(part for part in error["loc"] if not _is_union_branch(part))
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden" and loc == ("primary_region",):
        message = (
            "renamed: `home_region` names the region the table lives in, `workload` the region "
            "that writes (docs/region-moves.md)"
        )
    elif error["type"] == "extra_forbidden":
        message = "unknown key; check the spelling against docs/yaml-reference.md"
    elif error["type"] == "missing":
        message = "required key is missing"
    elif isinstance(error.get("input"), bool) and error["type"] == "string_type":
        message += " (YAML reads yes/no/on/off/true/false as booleans: quote the value)"
    return Problem(loc, message, error.get("input"), has_value=error["type"] != "missing")


def _is_union_branch(part: str | int) -> bool:
    # pydantic names the branch of `X | None` it tried (e.g. "list[...]"); users never wrote it.
    return isinstance(part, str) and ("[" in part or part in {"function-after", "str"})


def _describe(problems: list[Problem], origins: dict[tuple, Path], fallback: Path) -> list[str]:
    """One line per problem: the file that set the value (the environment's own file for a
    built-in default, which is where to override it), key path, message, value."""
    lines = []
    for problem in problems:
        source = _origin_of(problem.path, origins)
        key = _format_path(problem.path) or "(top level)"
        shown = ""
        if problem.has_value:
            default = ", payinfra's default" if source is None and problem.path else ""
            shown = f" (got {_show(problem.value)}{default})"
        lines.append(f"{source or fallback}: {key}: {problem.message}{shown}")
    return lines


def _origin_of(path: tuple, origins: dict[tuple, Path]) -> Path | None:
    """The file that set the value at `path` (or a list holding it); for a mapping, the last
    file that set anything inside it; None for a built-in default."""
    for length in range(len(path), 0, -1):
        if path[:length] in origins:
            return origins[path[:length]]
    inside = [source for known, source in origins.items() if known[: len(path)] == path]
    return inside[-1] if inside and path else None


def _format_path(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _show(value: Any) -> str:
    if isinstance(value, dict | list):
        text = repr(value)
        return text if len(text) <= 80 else text[:77] + "..."
    return repr(value)
