"""Wall time of `payinfra render prod` as a user runs it (a new process each time), beside the
floor that payinfra's libraries alone set, medians of REPEATS runs (goal: at most 0.15 s).

Run: .venv/bin/python benchmarks/startup.py
Bytecode is cached as on a user's machine (PYTHONDONTWRITEBYTECODE is dropped for the runs).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REPEATS = 11
LIBRARIES = "import click, jinja2, pydantic, yaml"


def median_wall(command: list[str], env: dict[str, str]) -> float:
    subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)  # warm caches
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory(prefix="payinfra-startup-") as out:
        rows = [
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ("its libraries", [sys.executable, "-c", LIBRARIES]),
            ("payinfra --help", [sys.executable, "-m", "payinfra", "--help"]),
            ("payinfra render prod", [sys.executable, "-m", "payinfra", "render", "prod",
                                      "--out", out]),
        ]  # fmt: skip
        for label, command in rows:
            print(f"{label:<22} median {median_wall(command, env):.3f} s  ({REPEATS} runs)")


if __name__ == "__main__":
    main()
