"""The writer's promise under faults: after `kill -9` at any instant, or two renders at once, the
out folder holds one whole render (the old one or the new one), never a mix; a render that fails
part-way changes nothing; bad out folders are clear errors."""

from __future__ import annotations

import json
import os
import pickle
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from payinfra import writer
from payinfra.cli import main
from payinfra.config import load_environment
from payinfra.errors import Busy, RenderError
from payinfra.render import render_environment
from tests.conftest import ENVIRONMENTS, REPO

BOOKKEEPING = (writer.LOCK, writer.MANIFEST, ".payinfra-protection.json")


def generated(target: Path) -> dict[str, bytes]:
    """Every file in `target` except payinfra's own bookkeeping."""
    return {
        path.relative_to(target).as_posix(): path.read_bytes()
        for path in sorted(target.rglob("*"))
        if path.is_file() and path.relative_to(target).as_posix() not in BOOKKEEPING
    }


def as_bytes(files: dict[str, str | bytes]) -> dict[str, bytes]:
    return {k: v.encode() if isinstance(v, str) else v for k, v in files.items()}


def recovered(target: Path) -> dict[str, bytes]:
    with writer.locked(target):  # taking the lock recovers an interrupted render
        pass
    writer.verify(target)
    assert not (target / writer.STAGING).exists(), "a staging folder was left behind"
    assert not (target / writer.JOURNAL).exists()
    assert not list(target.glob("*.tmp"))
    return generated(target)


@pytest.fixture(scope="module")
def two_renders() -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The real dev render, and a render in which every file differs, one is gone and one new."""
    old = as_bytes(render_environment(load_environment(ENVIRONMENTS, "dev")))
    new = {path: content + b"\n# new\n" for path, content in old.items()}
    del new["modules/peering/variables.tf"]
    new["modules/extra/main.tf"] = b"# added by the new render\n"
    return old, new


# ---- kill -9 at random moments ----

KILLED_WRITER = r"""
import os, pickle, sys, time
from pathlib import Path
from payinfra import writer

files = pickle.loads(Path(sys.argv[1]).read_bytes())
# Slow the disk down so that kills land inside staging and inside the commit, not only around.
real_replace, real_fsync = os.replace, os.fsync
def slow_replace(*args):
    time.sleep(0.002)
    real_replace(*args)
def slow_fsync(fd):
    time.sleep(0.001)
    real_fsync(fd)
os.replace, os.fsync = slow_replace, slow_fsync
print("ready", flush=True)
writer.write_tree(files, Path(sys.argv[2]))
print("done", flush=True)
"""


def start_writer(files_path: Path, target: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(files_path), str(target)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


@pytest.mark.slow
def test_kill_9_at_any_moment_leaves_the_old_or_the_new_render_whole(tmp_path, two_renders):
    old, new = two_renders
    files_path = tmp_path / "new.pickle"
    files_path.write_bytes(pickle.dumps(new))
    target = tmp_path / "out" / "dev"
    writer.write_tree(old, target)
    started = time.monotonic()
    start_writer(files_path, target).wait(timeout=60)
    duration = time.monotonic() - started
    rng = random.Random(20261125)
    outcomes = {"old": 0, "new": 0}
    interrupted = {"staging": 0, "commit": 0}
    for _ in range(60):
        writer.write_tree(old, target)
        process = start_writer(files_path, target)
        time.sleep(rng.uniform(0, duration))
        process.kill()
        process.wait(timeout=30)
        interrupted["commit"] += (target / writer.JOURNAL).exists()
        interrupted["staging"] += (target / writer.STAGING).exists() and not (
            target / writer.JOURNAL
        ).exists()
        tree = recovered(target)
        assert tree in (old, new), "a mix of two renders was left"
        outcomes["old" if tree == old else "new"] += 1
    assert outcomes["old"] and outcomes["new"], outcomes
    assert interrupted["staging"] and interrupted["commit"], interrupted


# ---- two renders at once ----


def render_command(env_dir: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "payinfra",
        "render",
        "dev",
        "--environments-dir",
        str(env_dir),
        "--out",
        str(out),
    ]


@pytest.mark.slow
def test_concurrent_renders_of_different_yaml_never_interleave(tmp_path, env_dir):
    other = tmp_path / "other-environments"
    other.mkdir()
    for path in env_dir.path.iterdir():
        (other / path.name).write_bytes(path.read_bytes())
    (other / "dev.yaml").write_text(
        "network: {flow_log_retention_days: 60, nat_mode: per_az}\n"
        "logs: {retention_days: 60}\ndatabase: {skip_final_snapshot: true}\n"
    )
    expected = [
        as_bytes(render_environment(load_environment(folder, "dev")))
        for folder in (env_dir.path, other)
    ]
    assert expected[0] != expected[1]
    out = tmp_path / "out"
    seen = set()
    for pair in range(20):
        folders = (env_dir.path, other) if pair % 2 else (other, env_dir.path)
        processes = [
            subprocess.Popen(
                render_command(folder, out),
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for folder in folders
        ]
        for process in processes:
            _, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, stderr
        tree = recovered(out / "dev")
        assert tree in expected, "two renders interleaved"
        seen.add(expected.index(tree))
    assert seen == {0, 1}


def test_a_second_command_waits_for_the_lock_then_is_refused_naming_the_holder(
    tmp_path, monkeypatch
):
    target = tmp_path / "dev"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from payinfra import writer\n"
            "with writer.locked(Path(sys.argv[1])):\n"
            "    print('locked', flush=True); time.sleep(30)",
            str(target),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        monkeypatch.setenv(writer.LOCK_WAIT_ENV, "0.3")
        started = time.monotonic()
        with pytest.raises(Busy, match=rf"in use by another payinfra command \(pid {holder.pid}"):
            writer.write_tree({"a.tf": "a"}, target)
        assert time.monotonic() - started >= 0.3
        assert not (target / "a.tf").exists()
    finally:
        holder.kill()
        holder.wait()
    writer.write_tree({"a.tf": "a"}, target)  # the lock died with its holder
    assert (target / "a.tf").read_text() == "a"


# ---- failures part-way change nothing ----


def test_a_render_that_fails_part_way_changes_nothing(tmp_path, two_renders):
    old, new = two_renders
    target = tmp_path / "dev"
    writer.write_tree(old, target)
    # The last file in sorted order is now a folder: the render can only fail on it.
    last = sorted(new)[-1]
    (target / last).unlink()
    (target / last).mkdir()
    before = generated(target)
    with pytest.raises(RenderError, match="is a folder"):
        writer.write_tree(new, target)
    assert generated(target) == before
    assert not (target / writer.STAGING).exists() and not (target / writer.JOURNAL).exists()


@pytest.mark.parametrize(
    "relative",
    [
        "terraform.tfstate",
        "sub/terraform.tfstate.backup",
        ".terraform/x",
        ".terraform.lock.hcl",
        "plan.tfplan",
        "plan.json",
        ".payinfra-manifest.json",
        ".payinfra-protection.json",
        "../x.tf",
        "/abs.tf",
        "a/./b.tf",
        "",
    ],
)
def test_a_render_can_never_generate_state_plans_or_bookkeeping(tmp_path, relative):
    with pytest.raises(RenderError):
        writer.write_tree({relative: "x", "a.tf": "a"}, tmp_path / "dev")
    assert not (tmp_path / "dev" / "a.tf").exists()


def test_hand_edited_generated_files_stop_terraform_commands(tmp_path, env_dir, monkeypatch):
    out = tmp_path / "out"
    assert CliRunner().invoke(main, ["render", "dev", *dirs(env_dir, out)]).exit_code == 0
    (out / "dev" / "main.tf").write_text("# edited by hand\n")
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    (tmp_path / "terraform").write_text("#!/bin/sh\necho terraform ran >&2; exit 9\n")
    (tmp_path / "terraform").chmod(0o755)
    result = CliRunner().invoke(main, ["plan", "dev", "--no-render", *dirs(env_dir, out)])
    assert result.exit_code == 1
    assert "does not match what payinfra rendered (main.tf changed" in result.output
    assert "terraform ran" not in result.output


def dirs(env_dir, out: Path) -> list[str]:
    return ["--environments-dir", str(env_dir.path), "--out", str(out)]


# ---- bad out folders ----


def test_an_out_folder_that_is_a_file_is_a_clear_error(tmp_path, env_dir):
    out = tmp_path / "out"
    out.mkdir()
    (out / "dev").write_text("not a folder")
    result = CliRunner().invoke(main, ["render", "dev", *dirs(env_dir, out)])
    assert result.exit_code == 1
    assert "out/dev is a file; payinfra needs a folder there" in result.output
    assert isinstance(result.exception, SystemExit)


def test_an_out_parent_that_is_a_file_is_a_clear_error(tmp_path, env_dir):
    (tmp_path / "out").write_text("not a folder")
    result = CliRunner().invoke(main, ["render", "dev", *dirs(env_dir, tmp_path / "out" / "x")])
    assert result.exit_code == 1
    assert "cannot create" in result.output and "Not a directory" in result.output
    assert isinstance(result.exception, SystemExit)


def test_an_out_folder_that_is_not_writable_is_a_clear_error(tmp_path, env_dir, monkeypatch):
    # As root (as in CI) permissions do not stop writes, so the check itself is exercised.
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: real_access(p, mode) and not mode & os.W_OK)
    result = CliRunner().invoke(main, ["render", "dev", *dirs(env_dir, tmp_path / "out")])
    assert result.exit_code == 1
    assert "cannot write to" in result.output and "permission denied" in result.output
    assert isinstance(result.exception, SystemExit)


def test_a_damaged_journal_is_a_clear_error(tmp_path):
    target = tmp_path / "dev"
    writer.write_tree({"a.tf": "a"}, target)
    (target / writer.JOURNAL).write_text(json.dumps({"install": ["../../x"], "remove": []}))
    with pytest.raises(RenderError, match="is damaged"):
        writer.write_tree({"a.tf": "b"}, target)
    assert (target / "a.tf").read_text() == "a"
