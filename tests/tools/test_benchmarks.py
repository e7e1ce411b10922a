"""The benchmark scripts still run (they print numbers; nothing here is timed)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from tests.conftest import REPO


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_render_benchmark_runs(capsys):
    benchmark = load("render_regions")
    benchmark.REPEATS = 1
    benchmark.main()
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [row.split()[0] for row in rows] == ["2", "4", "8", "16"]


def test_processor_benchmark_runs(capsys, monkeypatch):
    benchmark = load("processor")
    monkeypatch.setattr(benchmark, "COLD_RUNS", 1)
    monkeypatch.setattr(benchmark, "WARM_REQUESTS", 5)
    # The benchmark sets these itself; registering them here restores them afterwards.
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
        "TABLE_NAME",
        "LOG_LEVEL",
    ):
        monkeypatch.setenv(name, "unset-by-test")
    benchmark.main()
    out = capsys.readouterr().out
    assert "cold import" in out and "warm POST /payments" in out


@pytest.mark.emulator
@pytest.mark.terraform
def test_plan_overhead_benchmark_runs(capsys, monkeypatch):
    from tests.toolchain import terraform_binary

    monkeypatch.setenv("PATH", f"{Path(terraform_binary()).parent}:{os.environ['PATH']}")
    benchmark = load("plan_overhead")
    benchmark.REPEATS, benchmark.NO_CHANGE = 1, False
    benchmark.main()
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[1].split()[0] for line in lines] == ["terraform", "payinfra", "ratio"]
    assert all(line.startswith("first plan: ") for line in lines)


def test_startup_benchmark_runs(capsys):
    benchmark = load("startup")
    benchmark.REPEATS = 1
    benchmark.main()
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" median")[0].strip() for line in lines] == [
        "python -c pass", "its libraries", "payinfra --help", "payinfra render prod"
    ]  # fmt: skip
