"""Encode Python values as HCL literals.

Templates may only interpolate `Hcl` values: the Jinja environment's finalizer refuses a plain
string, so a value from YAML cannot reach the output without passing through `literal`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from ipaddress import IPv4Network

# A name or a dotted traversal of names (`aws.requester`), as block labels and keys use them.
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*")


class Hcl(str):
    """Text that is already valid HCL (an encoded literal or an expression built by payinfra)."""


class Attributes(dict):
    """An HCL object whose keys are attribute names: written bare and in the order given."""


def quote(text: str) -> Hcl:
    """An HCL quoted string whose value is exactly `text`, with nothing interpolated."""
    out = []
    for index, char in enumerate(text):
        following = text[index + 1 : index + 2]
        if char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif char in "$%" and following == "{":
            # `$${` and `%%{` are HCL's escapes for a literal `${` and `%{`.
            out.append(char * 2)
        elif ord(char) < 0x20 or ord(char) == 0x7F or 0xD800 <= ord(char) <= 0xDFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return Hcl('"' + "".join(out) + '"')


def literal(value: object, indent: int = 0) -> Hcl:
    """Encode a config value: strings quoted, maps and lists laid out as `terraform fmt` does."""
    if isinstance(value, Hcl):
        return value
    if isinstance(value, bool):
        return Hcl("true" if value else "false")
    if value is None:
        return Hcl("null")
    if isinstance(value, int):
        return Hcl(str(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"cannot encode {value} as an HCL number")
        return Hcl(repr(value))
    if isinstance(value, str | IPv4Network):
        return quote(str(value))
    if isinstance(value, Mapping):
        return _object(value, indent)
    if isinstance(value, Sequence):
        return _list(value, indent)
    raise TypeError(f"cannot encode {type(value).__name__} as HCL")


def expression(text: str) -> Hcl:
    """Mark a reference built by payinfra itself (never from YAML) as HCL."""
    return Hcl(text)


def comment(text: str) -> Hcl:
    """The text of a `#` comment line written by payinfra (never from YAML): one line."""
    if "\n" in text or "\r" in text:
        raise ValueError(f"a comment is one line: {text!r}")
    return Hcl(text)


def identifier(name: str) -> Hcl:
    """A block label or attribute name; refuses anything that is not a plain identifier."""
    if not IDENTIFIER.fullmatch(name):
        raise ValueError(f"{name!r} is not an HCL identifier")
    return Hcl(name)


def body(attributes: Attributes, indent: int = 2) -> Hcl:
    """The inside of a block: one aligned `name = value` line per attribute."""
    return Hcl(_aligned({key: identifier(key) for key in attributes}, attributes, indent))


def _object(mapping: Mapping, indent: int) -> Hcl:
    if not mapping:
        return Hcl("{}")
    if isinstance(mapping, Attributes):
        keys = {key: identifier(key) for key in mapping}
    else:
        keys = {key: quote(str(key)) for key in sorted(mapping, key=str)}
    return Hcl("{\n" + _aligned(keys, mapping, indent + 2) + "\n" + " " * indent + "}")


def _aligned(keys: dict, mapping: Mapping, indent: int) -> str:
    """`key = value` lines aligned as `terraform fmt` does: a run of one-line values shares one
    column; a multi-line value stands alone and ends the run."""
    encoded = [(keys[key], literal(mapping[key], indent)) for key in keys]
    lines: list[str] = []
    run: list[tuple[str, str]] = []

    def flush() -> None:
        width = max((len(name) for name, _ in run), default=0)
        lines.extend(f"{' ' * indent}{name.ljust(width)} = {value}" for name, value in run)
        run.clear()

    for name, value in encoded:
        if "\n" in value:
            flush()
            lines.append(f"{' ' * indent}{name} = {value}")
        else:
            run.append((name, value))
    flush()
    return "\n".join(lines)


def _list(items: Sequence, indent: int) -> Hcl:
    encoded = [literal(item, indent) for item in items]
    return Hcl("[" + ", ".join(encoded) + "]")
