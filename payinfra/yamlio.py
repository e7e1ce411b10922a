"""Strict YAML reading: duplicate keys are errors; malformed YAML reports its line and column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from payinfra.errors import ConfigError

# The deepest setting is about five levels down (regions[0].azs[1]); anything far deeper is a
# mistake or an attack on the recursive code that reads it.
MAX_NESTING = 20
# The shipped environments expand to a few hundred values; aliases can make a 300-byte file
# stand for 10^8 (a "billion laughs"), which every recursive step after loading would walk.
MAX_EXPANDED_VALUES = 20_000


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader refusing a mapping with the same key twice (PyYAML keeps the last silently)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"a key must be a plain string or number, not a {type(key).__name__}",
                key_node.start_mark,
            )
        if key in mapping:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_mapping(path: Path) -> dict[str, Any]:
    """Read one YAML file that must hold a mapping; an empty file is an empty mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from exc
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([_describe_yaml_error(path, exc)]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: invalid YAML: {exc}"]) from exc
    except RecursionError:
        raise ConfigError([f"{path}: nested too deeply to be an environment file"]) from None
    _check_nesting(path, data)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            [f"{path}: the top level is a {type(data).__name__}; expected a mapping of keys"]
        )
    return data


def _check_nesting(path: Path, data: Any) -> None:
    """Refuse structures deeper than any environment file needs, alias cycles (`&a [*a]`), and
    aliases that expand past MAX_EXPANDED_VALUES, before anything recursive (merging,
    validation, messages) walks them. The walk counts every value as the expanded document
    would hold it, and stops at the limit, so a bomb costs milliseconds."""
    pending: list[tuple[Any, int, frozenset[int]]] = [(data, 0, frozenset())]
    expanded = 0
    while pending:
        value, depth, ancestors = pending.pop()
        expanded += 1
        if expanded > MAX_EXPANDED_VALUES:
            raise ConfigError(
                [
                    f"{path}: expands to more than {MAX_EXPANDED_VALUES:,} values (aliases "
                    "repeating aliases?); no environment file is that large"
                ]
            )
        if not isinstance(value, dict | list):
            continue
        if id(value) in ancestors:
            raise ConfigError([f"{path}: an alias refers to a mapping or list that contains it"])
        if depth > MAX_NESTING:
            raise ConfigError(
                [f"{path}: nested more than {MAX_NESTING} levels deep; no setting is that deep"]
            )
        children = value.values() if isinstance(value, dict) else value
        inner = ancestors | {id(value)}
        pending.extend((child, depth + 1, inner) for child in children)


def _describe_yaml_error(path: Path, exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
    problem = exc.problem or exc.context or "invalid YAML"
    return f"{where}: invalid YAML: {problem}"
