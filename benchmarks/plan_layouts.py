"""`payinfra plan` of a prod-shaped environment as one root and as a root per region.

Run: .venv/bin/python benchmarks/plan_layouts.py   (needs terraform; uses the provider mirror
when there is one; about 8 minutes, most of it the AWS provider's database waiters). On an
emulator of its own, `local` with a primary (eu-west-1) and a standby (us-east-1) is applied
as one root, then planned REPEATS times with nothing to change; its state is moved into the
roots of `layout: region-roots`, applied, and planned REPEATS times for every root and for the
standby's root alone (`--region us-east-1`: what a failover's next plan runs). Prints the
medians.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from payinfra import emulator
from payinfra.errors import EmulatorError

REPO = Path(__file__).resolve().parent.parent
REPEATS = 5
PAYINFRA = [sys.executable, "-m", "payinfra"]
STANDBY = "us-east-1"


def start_emulator(state_dir: Path) -> str:
    import socket

    for _attempt in range(3):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        try:
            return emulator.start(port, state_dir).endpoint
        except EmulatorError:
            continue
    raise RuntimeError("the emulator lost three free ports before it bound one")


def set_local(folder: Path, endpoint: str, layout: str) -> None:
    path = folder / "environments" / "local.yaml"
    local = yaml.safe_load(path.read_text())
    local.update(
        emulator={"endpoint": endpoint},
        workload={"eu-west-1": "primary", STANDBY: "standby"},
        layout=layout,
    )
    path.write_text(yaml.safe_dump(local))


def payinfra(folder: Path, env: dict, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([*PAYINFRA, *args], cwd=folder, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def median_of(label: str, folder: Path, env: dict, *args: str) -> float:
    runs = [payinfra(folder, env, "plan", "local", *args) for _ in range(REPEATS)]
    print(f"{label}: median {statistics.median(runs):.2f} s ({REPEATS} runs)")
    return statistics.median(runs)


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="payinfra-layout-bench-"))
    endpoint = start_emulator(folder / ".payinfra")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "emulator",
        "AWS_SECRET_ACCESS_KEY": "emulator",
        "CHECKPOINT_DISABLE": "1",
    }
    try:
        shutil.copytree(REPO / "environments", folder / "environments")
        set_local(folder, endpoint, "one-root")
        payinfra(folder, env, "plan", "local")
        payinfra(folder, env, "apply", "local", "--", "-parallelism=20")
        one_root = median_of("one root, no change", folder, env)
        set_local(folder, endpoint, "region-roots")
        payinfra(folder, env, "move-state", "local")
        payinfra(folder, env, "plan", "local")
        payinfra(folder, env, "apply", "local", "--", "-parallelism=20")
        every_root = median_of("region roots, every root, no change", folder, env)
        alone = median_of(f"region roots, --region {STANDBY}", folder, env, "--region", STANDBY)
        print(f"every root / one root: {every_root / one_root:.2f}x")
        print(f"--region {STANDBY} / one root: {alone / one_root:.2f}x")
    finally:
        emulator.stop(folder / ".payinfra")
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
