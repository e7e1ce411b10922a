"""Ending an adoption: the resources payinfra took over leave the reference stack's state, so
that one state owns each (two owners is how a `cdktf destroy` deletes a live database).

Refused until payinfra's state holds every address the adoption imported. The old state is
rewritten without the resources the adoption recorded (its serial one higher, its lineage kept,
so terraform accepts it as the next version), after a backup of it as it was, named by its
serial: beside a file, or beside the object in S3. A rerun after a run interrupted between the
two finds nothing left to remove and only ends the adoption.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from payinfra import writer
from payinfra.adoption.source import S3_SCHEME, parse_state, reason, s3_location
from payinfra.adoption_record import Import
from payinfra.errors import AdoptionRefused, AdoptionSourceError
from payinfra.states import resource_address

BACKUP_SUFFIX = ".payinfra-backup"


@dataclass(frozen=True)
class Released:
    removed: list[str]
    kept: list[str]
    backup: str


def addresses_in(state: dict | None) -> set[str]:
    """Every resource instance address a Terraform state holds."""
    found: set[str] = set()
    for resource in (state or {}).get("resources") or []:
        if resource.get("mode") != "managed":
            continue
        base = resource_address(resource)
        for instance in resource.get("instances") or []:
            key = instance.get("index_key")
            found.add(base + ("" if key is None else f"[{json.dumps(key)}]"))
    return found


def release(
    source: str, text: str, imports: list[Import], payinfra_state: dict | None
) -> tuple[str | None, Released]:
    """The old state's new text without the adopted resources (None when it holds none of them
    any more: released already, by a run interrupted before it ended the adoption), and what
    was done; refused while payinfra's state lacks any imported address."""
    held = addresses_in(payinfra_state)
    missing = [item.to for item in imports if item.to not in held]
    if missing:
        raise AdoptionRefused(
            f"payinfra's state does not hold {missing[0]}"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
            + ": apply the adoption first (`payinfra apply`); the old state was not changed"
        )
    state = parse_state(text, source)
    adopted = {item.reference for item in imports if item.reference}
    # The reference stack is one root module: a resource's address is its reference.
    present = {resource_address(r) for r in state["resources"]}
    kept = [r for r in state["resources"] if resource_address(r) not in adopted]
    names = sorted(resource_address(r) for r in kept)
    serial = int(state.get("serial", 0))
    backup = f"{source}{BACKUP_SUFFIX}-{serial}"
    if not adopted & present:
        return None, Released([], names, backup)
    new = {**state, "resources": kept, "serial": serial + 1}
    return json.dumps(new, indent=2) + "\n", Released(sorted(adopted & present), names, backup)


def write_old(released: Released, source: str, old_text: str, new_text: str, s3: Any) -> None:
    """The backup first (named by the serial it holds, so a later release never overwrites
    it), then the new state in one step: a crash leaves the old state, or the new one with its
    backup beside it."""
    if source.startswith(S3_SCHEME):
        for target, text in ((released.backup, old_text), (source, new_text)):
            bucket, key = s3_location(target)
            try:
                s3.put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"))
            except Exception as err:  # botocore's errors: one line, never a traceback
                raise AdoptionSourceError(f"{target}: cannot be written ({reason(err)})") from None
        return
    writer.replace_file(Path(released.backup), old_text)
    writer.replace_file(Path(source), new_text)
