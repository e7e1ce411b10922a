"""What `payinfra plan` costs over `terraform plan` on the same root (goal: at most 1.1x).

Run: .venv/bin/python benchmarks/plan_overhead.py   (needs terraform; uses the provider mirror
when there is one). It renders the `local` environment against an emulator of its own, inits
once, then alternates `terraform plan -out` and `payinfra plan --no-render` REPEATS times each
and prints the medians and their ratio, twice: for a first plan (it creates every database)
and, after an apply (a few minutes of provider waiting), for a plan with no change. payinfra
adds a render check, its lock, reading the state's identity (no provider starts) and reads the
plan's own JSON stream instead of a second `terraform show`.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from payinfra import emulator
from payinfra.errors import EmulatorError

REPO = Path(__file__).resolve().parent.parent
REPEATS = 5
# The no-change half applies the whole stack first; the suite's smoke test leaves it out.
NO_CHANGE = True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_emulator(state_dir: Path) -> str:
    """payinfra's emulator on a free port (retried when another process takes the port first)."""
    for _attempt in range(3):
        try:
            return emulator.start(free_port(), state_dir).endpoint
        except EmulatorError:
            continue
    raise RuntimeError("the emulator lost three free ports before it bound one")


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def compare(label: str, terraform: list[str], payinfra: list[str], folder: Path, env: dict) -> None:
    raw, wrapped = [], []
    for _ in range(REPEATS):
        raw.append(timed([*terraform, "plan", "-input=false", "-out=bench.tfplan"], folder, env))
        wrapped.append(timed([*payinfra, "plan", "local", "--no-render"], folder, env))
    ratio = statistics.median(wrapped) / statistics.median(raw)
    print(f"{label}: terraform plan median {statistics.median(raw):.2f} s ({REPEATS} runs)")
    print(f"{label}: payinfra plan  median {statistics.median(wrapped):.2f} s ({REPEATS} runs)")
    print(f"{label}: ratio {ratio:.2f}x")


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="payinfra-plan-bench-"))
    endpoint = start_emulator(folder / ".payinfra")
    try:
        shutil.copytree(REPO / "environments", folder / "environments")
        local = folder / "environments" / "local.yaml"
        local.write_text(
            local.read_text().replace("emulator: {}", f"emulator: {{endpoint: {endpoint}}}")
        )
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "emulator",
            "AWS_SECRET_ACCESS_KEY": "emulator",
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
        }
        payinfra = [sys.executable, "-m", "payinfra"]
        subprocess.run(
            [*payinfra, "init", "local"], cwd=folder, env=env, check=True, capture_output=True
        )
        root = folder / "out" / "local"
        terraform = [shutil.which("terraform") or "terraform", f"-chdir={root}"]
        compare("first plan", terraform, payinfra, folder, env)
        if NO_CHANGE:
            subprocess.run(
                [*payinfra, "apply", "local", "--no-render", "--", "-parallelism=20"],
                cwd=folder, env=env, check=True, capture_output=True,
            )  # fmt: skip
            compare("no change", terraform, payinfra, folder, env)
    finally:
        emulator.stop(folder / ".payinfra")
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
