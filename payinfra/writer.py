"""Write a rendered tree into `out/<env>/` without ever touching what payinfra did not generate.

Files are staged in a temporary directory beside the target, then moved into place one by one
(an atomic rename each). A manifest lists what payinfra generated, so a re-render can remove files
it no longer produces while Terraform state, `.terraform/`, the lock file, plans and anything else
a person put there stay where they are.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from payinfra.errors import RenderError

MANIFEST = ".payinfra-manifest.json"


@dataclass(frozen=True)
class WriteResult:
    written: list[str]
    unchanged: list[str]
    removed: list[str]


def write_tree(files: dict[str, str | bytes], target: Path) -> WriteResult:
    for relative in files:
        _check_relative(relative)
    target.mkdir(parents=True, exist_ok=True)
    previous = _read_manifest(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.render-", dir=target.parent))
    try:
        _stage(files, staging)
        written, unchanged = _swap_in(files, staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    removed = _remove_stale(previous - set(files), target)
    _write_manifest(target, sorted(files))
    return WriteResult(written, unchanged, removed)


def _check_relative(relative: str) -> None:
    path = PurePosixPath(relative)
    if path.is_absolute() or ".." in path.parts or relative == MANIFEST:
        raise RenderError(f"refusing to write {relative!r} outside the output directory")


def _stage(files: dict[str, str | bytes], staging: Path) -> None:
    for relative, content in files.items():
        path = staging / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        path.write_bytes(data)


def _swap_in(files: dict, staging: Path, target: Path) -> tuple[list[str], list[str]]:
    written, unchanged = [], []
    for relative in sorted(files):
        staged, final = staging / relative, target / relative
        if final.is_file() and final.read_bytes() == staged.read_bytes():
            # Leaving an identical file alone keeps its mtime, so tools that watch it stay quiet.
            unchanged.append(relative)
            continue
        if final.is_dir():
            raise RenderError(f"{final} is a directory; payinfra needs to write a file there")
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, final)
        written.append(relative)
    return written, unchanged


def _remove_stale(stale: set[str], target: Path) -> list[str]:
    removed = []
    for relative in sorted(stale):
        path = target / relative
        if path.is_file():
            path.unlink()
            removed.append(relative)
            _prune_empty_parents(path.parent, target)
    return removed


def _prune_empty_parents(folder: Path, stop: Path) -> None:
    while folder != stop and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def _read_manifest(target: Path) -> set[str]:
    path = target / MANIFEST
    if not path.is_file():
        return set()
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (ValueError, KeyError, TypeError):
        # An unreadable manifest only means stale files may linger; never guess and delete.
        return set()
    safe = set()
    for entry in entries:
        try:
            _check_relative(entry)
        except (RenderError, TypeError):
            continue
        safe.add(entry)
    return safe


def _write_manifest(target: Path, names: list[str]) -> None:
    text = json.dumps({"generator": "payinfra", "files": names}, indent=2) + "\n"
    temporary = target / f"{MANIFEST}.tmp"
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, target / MANIFEST)
