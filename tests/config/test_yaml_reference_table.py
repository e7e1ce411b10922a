"""The YAML reference (docs/yaml-reference.md) and the models agree: every key the models accept
is documented, every documented key exists, and each documented default is the model's.
Defaults have one home."""

from __future__ import annotations

import re
import types
import typing

import yaml
from pydantic import BaseModel

from payinfra.config import Environment
from tests.conftest import ENVIRONMENTS, REPO

# Keys payinfra sets itself rather than reading them from YAML.
NOT_FROM_YAML = {"name"}


def model_keys(model: type[BaseModel], prefix: str = "") -> dict[str, object]:
    """{dotted YAML key: default (or None when required)} for a model and its sub-models."""
    keys: dict[str, object] = {}
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        if not prefix and name in NOT_FROM_YAML:
            continue
        nested = _model_in(field.annotation)
        if nested is not None and typing.get_origin(field.annotation) is dict:
            keys.update(model_keys(nested, key + ".<alarm>."))  # a mapping of models by name
        elif nested is not None:
            if _is_list(field.annotation):  # the list itself is a key, then its items'
                keys[key] = None if field.is_required() else field.default
            suffix = "[]." if _is_list(field.annotation) else "."
            keys.update(model_keys(nested, key + suffix))
        else:
            keys[key] = None if field.is_required() else field.default
    return keys


def _model_in(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


def _is_list(annotation: object) -> bool:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_list(argument) for argument in typing.get_args(annotation))
    return typing.get_origin(annotation) is list


def reference_rows() -> dict[str, str]:
    """{dotted key: default cell} from the YAML reference's table (the page's first section)."""
    text = (REPO / "docs" / "yaml-reference.md").read_text(encoding="utf-8")
    section = text.split("# YAML reference", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
        first, _type, default = (cell.strip() for cell in cells[:3])
        names = re.findall(r"`([^`]+)`", first)
        parent = names[0].rsplit(".", 1)[0] + "." if "." in names[0] else ""
        for index, name in enumerate(names):
            rows[name if index == 0 or "." in name else parent + name] = default
    return rows


def test_every_yaml_key_is_documented_and_every_documented_key_exists():
    documented, accepted = set(reference_rows()), set(model_keys(Environment))
    assert sorted(accepted - documented) == [], "keys the YAML reference does not document"
    assert sorted(documented - accepted) == [], "documented keys the models do not accept"


def test_documented_defaults_are_the_models_defaults():
    rows, keys = reference_rows(), model_keys(Environment)
    for key, default in keys.items():
        cell = rows[key]
        shown = re.fullmatch(r"`([^`]*)`", cell)
        if default is None or shown is None:
            continue  # required, derived, or a row documenting several keys at once
        assert _text(yaml.safe_load(shown.group(1))) == _text(default), (
            f"{key}: the YAML reference says {cell}, the model says {default!r}"
        )


def _text(value: object) -> object:
    """Compare as YAML text reads: `17` documents the string "17" as well as the number."""
    return [str(item) for item in value] if isinstance(value, list) else str(value).lower()


def test_defaults_live_in_the_models_not_in_defaults_yaml():
    shared = yaml.safe_load((ENVIRONMENTS / "_defaults.yaml").read_text(encoding="utf-8"))
    keys = model_keys(Environment)

    def flatten(mapping: dict, prefix: str = "") -> dict[str, object]:
        flat: dict[str, object] = {}
        for key, value in mapping.items():
            if isinstance(value, dict):
                flat.update(flatten(value, f"{prefix}{key}."))
            else:
                flat[f"{prefix}{key}"] = value
        return flat

    repeated = [
        key for key, value in flatten(shared).items() if key in keys and keys[key] is not None
    ]
    assert repeated == [], "_defaults.yaml repeats a model default (one home per default)"
