"""Own the disk of `out/<env>/`: write a rendered tree so that no crash leaves it half written.

A render is committed in three moves, under a lock that one payinfra command holds at a time:

1. every changed file is staged in `.payinfra-staging/` inside the folder;
2. a journal naming what to install and remove, and the new manifest, is written atomically;
3. the staged files are renamed into place, stale files removed, the manifest replaced, and the
   journal deleted.

Whoever takes the lock next first recovers: with a journal, it rolls the commit forward (every
step is idempotent); without one, it deletes the staging folder, which leaves the old tree. So
after `kill -9` at any instant the next payinfra command finds either the whole old tree or the
whole new one.

The manifest lists each generated file with its SHA-256. Only those files are ever replaced or
removed; Terraform state, `.terraform/`, the lock file, plans and payinfra's own bookkeeping can
never be named in it. `verify` proves the tree still matches the manifest before terraform runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

from payinfra.errors import Busy, RenderError

MANIFEST = ".payinfra-manifest.json"
JOURNAL = ".payinfra-journal.json"
STAGING = ".payinfra-staging"
LOCK = ".payinfra.lock"
MANIFEST_VERSION = 2
# What a manifest may never name, so a render can never replace or delete it: Terraform's state,
# working folder, lock file and plans, and payinfra's own bookkeeping (all `.payinfra*`).
NEVER_GENERATED = (
    "*.tfstate",
    "*.tfstate.*",
    ".terraform",
    ".terraform.lock.hcl",
    "*.tfplan",
    "plan.*",
    ".payinfra*",
)
# Terraform's own files, wherever they are: a report never takes one of these names.
TERRAFORM_FILES = ("*.tfstate", "*.tfstate.*", "*.tfplan", ".terraform.lock.hcl")
LOCK_WAIT_ENV = "PAYINFRA_LOCK_WAIT"
DEFAULT_LOCK_WAIT_SECONDS = 30.0
_SHA256 = re.compile(r"[0-9a-f]{64}")

Files = dict[str, str | bytes]


@dataclass(frozen=True)
class WriteResult:
    written: list[str]
    unchanged: list[str]
    removed: list[str]


# ---- The lock ----

_held: dict[Path, int] = {}


@contextlib.contextmanager
def locked(target: Path) -> Iterator[None]:
    """Hold `target`'s lock (re-entrant within this process) and recover any interrupted render.

    A second payinfra command waits up to PAYINFRA_LOCK_WAIT seconds (default 30), then is
    refused with the holder's pid and command."""
    key = _prepare_folder(target).resolve()
    if key in _held:
        yield
        return
    descriptor = _acquire(target)
    _held[key] = descriptor
    try:
        recover(target)
        yield
    finally:
        del _held[key]
        os.close(descriptor)


def held_locks() -> tuple[int, ...]:
    """The descriptors of the locks this process holds, for the terraform it starts to inherit."""
    return tuple(sorted(_held.values()))


def _prepare_folder(target: Path) -> Path:
    if target.exists() and not target.is_dir():
        raise RenderError(f"{target} is a file; payinfra needs a folder there (move the file)")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RenderError(f"cannot create {target}: {exc.strerror}") from None
    if not os.access(target, os.W_OK | os.X_OK):
        raise RenderError(f"cannot write to {target}: permission denied")
    return target


def _acquire(target: Path) -> int:
    path = target / LOCK
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise RenderError(f"cannot create the lock file {path}: {exc.strerror}") from None
    deadline = time.monotonic() + _lock_wait_seconds()
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = os.pread(descriptor, 4096, 0).decode(errors="replace").strip()
                os.close(descriptor)
                raise Busy(
                    f"{target} is in use by another payinfra command ({holder or 'unknown'}), "
                    "or by a terraform it started, which holds the lock until it exits even if "
                    "that command was killed; try again when it has finished"
                ) from None
            time.sleep(0.05)
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"pid {os.getpid()}: {_command_line()}\n".encode(), 0)
    return descriptor


def _lock_wait_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get(LOCK_WAIT_ENV, DEFAULT_LOCK_WAIT_SECONDS)))
    except ValueError:
        return DEFAULT_LOCK_WAIT_SECONDS


def _command_line() -> str:
    try:
        raw = Path("/proc/self/cmdline").read_bytes()
        return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)
    except OSError:
        return "payinfra"


def _require_lock(target: Path) -> None:
    if target.resolve() not in _held:
        raise RuntimeError(f"{target}: the writer's lock must be held (use writer.locked)")


# ---- Writing ----


def write_tree(files: Files, target: Path) -> WriteResult:
    """Replace the generated files of `target` with `files`, all or nothing."""
    for relative in files:
        check_generated_path(relative)
    with locked(target):
        previous = read_manifest(target)
        _preflight(files, target)
        digests = {relative: _sha256(_bytes(content)) for relative, content in files.items()}
        changed = sorted(r for r in files if _current_digest(target / r) != digests[r])
        unchanged = sorted(set(files) - set(changed))
        stale = sorted(r for r in set(previous) - set(files) if (target / r).is_file())
        if not changed and not stale and previous == digests:
            return WriteResult([], unchanged, [])
        _stage(files, changed, target / STAGING)
        journal = {"install": changed, "remove": stale, "manifest": dict(sorted(digests.items()))}
        _write_atomically(target / JOURNAL, json.dumps(journal, indent=1) + "\n")
        _roll_forward(target, journal)
        return WriteResult(changed, unchanged, stale)


def replace_file(path: Path, text: str) -> None:
    """Replace a file that is not payinfra's (another tool's state) in one step: a crash
    leaves the old content or the new, never a part."""
    _write_atomically(path, text)
    _fsync_folder(path.parent)


def write_record(target: Path, name: str, text: str) -> None:
    """Write one of payinfra's own records beside the generated files (a `.payinfra*` name, so
    no render ever replaces it) in one step; the folder's lock must be held."""
    _require_record_name(name)
    _require_lock(target)
    _write_atomically(target / name, text)
    _fsync_folder(target)


def remove_record(target: Path, name: str) -> None:
    _require_record_name(name)
    _require_lock(target)
    (target / name).unlink(missing_ok=True)
    _fsync_folder(target)


def _require_record_name(name: str) -> None:
    if not fnmatch(name, ".payinfra*") or "/" in name:
        raise RenderError(f"{name!r} is not a payinfra record name")


def check_generated_path(relative: str) -> None:
    """A generated file lives inside the folder and is never state, a plan or bookkeeping."""
    path = PurePosixPath(relative)
    if (
        not relative
        or path.is_absolute()
        or ".." in path.parts
        or "\\" in relative
        or str(path) != relative
    ):
        raise RenderError(f"refusing to write {relative!r} outside the output folder")
    for part in path.parts:
        if any(fnmatch(part, pattern) for pattern in NEVER_GENERATED):
            raise RenderError(
                f"refusing to generate {relative!r}: state, plans, .terraform/ and payinfra's "
                "own files are never written by a render"
            )


def _preflight(files: Files, target: Path) -> None:
    """Everything that could make the commit fail half-way is checked before it starts."""
    root = target.resolve()
    for relative in sorted(files):
        final = target / relative
        if final.is_dir() and not final.is_symlink():
            raise RenderError(f"{final} is a folder; payinfra needs to write a file there")
        parent = final.parent
        while parent != target and not parent.exists():
            parent = parent.parent
        if parent != target and not parent.is_dir():
            raise RenderError(f"{parent} is a file; payinfra needs a folder there")
        if not parent.resolve().is_relative_to(root):
            raise RenderError(f"{parent} leads outside {target} (a symlink?); remove it")


def _stage(files: Files, changed: list[str], staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)
    for relative in changed:
        path = staging / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(_bytes(files[relative]))
            handle.flush()
            os.fsync(handle.fileno())


def _roll_forward(target: Path, journal: dict) -> None:
    """Finish a committed render. Safe to repeat after a crash at any point inside it."""
    staging = target / STAGING
    for relative in journal["install"]:
        staged, final = staging / relative, target / relative
        if staged.is_file():
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final)
    for relative in journal["remove"]:
        path = target / relative
        if path.is_file() or path.is_symlink():
            path.unlink()
            _prune_empty_parents(path.parent, target)
    manifest = {"generator": "payinfra", "version": MANIFEST_VERSION, "files": journal["manifest"]}
    _write_atomically(target / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(staging, ignore_errors=True)
    (target / JOURNAL).unlink(missing_ok=True)
    _fsync_folder(target)


def recover(target: Path) -> None:
    """Bring an interrupted render to an end: forward if it was committed, else back."""
    _require_lock(target)
    journal_path = target / JOURNAL
    for leftover in target.glob(".payinfra*.tmp"):
        leftover.unlink(missing_ok=True)
    if journal_path.is_file():
        _roll_forward(target, _read_journal(journal_path))
    else:
        shutil.rmtree(target / STAGING, ignore_errors=True)


def _read_journal(path: Path) -> dict:
    try:
        journal = json.loads(path.read_text(encoding="utf-8"))
        install, remove, manifest = journal["install"], journal["remove"], journal["manifest"]
        for relative in [*install, *remove, *manifest]:
            check_generated_path(relative)
    except (ValueError, KeyError, TypeError, RenderError) as exc:
        raise RenderError(
            f"{path} is damaged ({exc}); payinfra cannot tell how far the last render got. "
            "Delete it and the .payinfra-staging folder beside it, then render again"
        ) from None
    return {"install": install, "remove": remove, "manifest": manifest}


# ---- The manifest ----


def read_manifest(target: Path) -> dict[str, str]:
    """{relative path: sha256} of the generated files; {} before the first render."""
    path = target / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise RenderError(f"cannot read {path}: {exc}") from None
    try:
        data = json.loads(text)
        files = data["files"]
        if isinstance(files, list):  # written by payinfra before manifests held digests
            files = {relative: "" for relative in files}
        if not isinstance(files, dict):
            raise TypeError("`files` is not a mapping")
        for relative, digest in files.items():
            check_generated_path(relative)
            if digest and not _SHA256.fullmatch(digest):
                raise ValueError(f"{relative}: not a SHA-256 digest")
    except (ValueError, KeyError, TypeError, AttributeError, RenderError) as exc:
        raise RenderError(
            f"{path} is not a valid payinfra manifest ({exc}). Move it aside and render again; "
            "files generated earlier and no longer produced may then have to be removed by hand"
        ) from None
    return dict(files)


def verify(target: Path) -> None:
    """Refuse unless every file the manifest lists is there with the content it lists."""
    with locked(target):
        manifest = read_manifest(target)
        if not manifest:
            raise RenderError(f"{target} has not been rendered yet; run without --no-render")
        differing = [r for r, digest in manifest.items() if _current_digest(target / r) != digest]
        if differing:
            raise RenderError(
                f"{target} does not match what payinfra rendered ({', '.join(sorted(differing))} "
                "changed or missing); render it again instead of editing generated files"
            )


def tree_digest(target: Path) -> str:
    """One SHA-256 for the whole generated tree, from the manifest (check it with `verify`)."""
    digest = hashlib.sha256()
    for relative, file_digest in sorted(read_manifest(target).items()):
        digest.update(f"{relative}\0{file_digest}\n".encode())
    return digest.hexdigest()


# ---- Files payinfra writes outside a render ----


def check_report_path(path: Path, out_root: Path) -> None:
    """Refuse a report (a plan summary, say) whose path, or the file a symlink there leads to,
    is Terraform state or a plan anywhere, or anything inside an out folder payinfra manages
    (`out_root`, or any folder holding payinfra's lock or manifest): a report never replaces
    state, a plan record or a rendered file."""
    resolved = path.resolve()
    if any(fnmatch(resolved.name, pattern) for pattern in TERRAFORM_FILES):
        raise RenderError(
            f"refusing to write a report to {path}: the name is Terraform state or a plan file"
        )
    managed = [out_root.resolve()] + [
        folder
        for folder in resolved.parents
        if (folder / LOCK).exists() or (folder / MANIFEST).exists()
    ]
    for folder in managed:
        if resolved.is_relative_to(folder):
            raise RenderError(
                f"refusing to write a report to {path}: it is inside {folder}, an out folder "
                "payinfra manages (state, plans and rendered files); write it elsewhere"
            )


# ---- Small helpers ----


def _bytes(content: str | bytes) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else content


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _current_digest(path: Path) -> str | None:
    if path.is_symlink() or not path.is_file():
        return None
    return _sha256(path.read_bytes())


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _prune_empty_parents(folder: Path, stop: Path) -> None:
    while folder != stop and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
