"""The adoption record (`out/<env>/.payinfra-adoption.json`): the import blocks `payinfra adopt`
decided on, kept beside the rendered root while an adoption is in progress so that every render
writes them into `adoption.tf` again, until `payinfra adopt --release-old-state` ends it.

The file is payinfra's own, but it sits on disk where anyone can edit it: each address is
checked against the shape of payinfra's module addresses before it reaches HCL, and each id is
encoded as an HCL string, never pasted raw."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from payinfra.errors import RenderError

ADOPTION_RECORD = ".payinfra-adoption.json"
RECORD_VERSION = 1
# The old state's address of what is imported (empty for a route the reference kept inline).
_REFERENCE = re.compile(r"(aws_[a-z0-9_]+\.[A-Za-z0-9_-]+)?")
# module.<call>[.module.<call>].<type>.<name>[<index or "key">]
_ADDRESS = re.compile(
    r'module\.[a-z0-9_]+(\.module\.[a-z0-9_]+)?\.aws_[a-z0-9_]+\.[a-z0-9_]+(\[(0|"[a-z0-9-]+")\])?'
)


@dataclass(frozen=True)
class Import:
    to: str
    id: str
    reference: str = ""  # its address in the old state, released after the apply


def record_text(source: str, imports: list[Import]) -> str:
    record = {
        "version": RECORD_VERSION,
        "source": source,
        "imports": [
            {"to": item.to, "id": item.id, "reference": item.reference} for item in imports
        ],
    }
    return json.dumps(record, indent=1) + "\n"


def read_record(text: str) -> tuple[str, list[Import]]:
    """(source, imports) of a record's text; RenderError naming what is wrong with it."""
    try:
        record = json.loads(text)
        if record["version"] != RECORD_VERSION:
            raise ValueError(f"version {record['version']!r}")
        imports = [
            Import(str(item["to"]), str(item["id"]), str(item["reference"]))
            for item in record["imports"]
        ]
        source = str(record["source"])
    except (ValueError, KeyError, TypeError) as problem:
        raise RenderError(
            f"{ADOPTION_RECORD} is damaged ({problem}); run `payinfra adopt` again"
        ) from None
    for item in imports:
        if (
            not _ADDRESS.fullmatch(item.to)
            or not item.id
            or not _REFERENCE.fullmatch(item.reference)
        ):
            raise RenderError(f"{ADOPTION_RECORD}: {item.to!r} is not an address payinfra imports")
    return source, imports
