"""Shared fixtures: a checkout whose YAML a region move rewrites step by step, and the lower CPU
priority of the chains that are not the suite's longest."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.e2e.test_stack_lifecycle import Stack


@pytest.fixture(scope="module")
def mover(tmp_path_factory, moto_server) -> Iterator[Stack]:
    from tests.conftest import ENVIRONMENTS

    moto_server.reset()
    folder = tmp_path_factory.mktemp("move")
    (folder / "environments").mkdir()
    for path in ENVIRONMENTS.glob("*.yaml"):
        (folder / "environments" / path.name).write_text(path.read_text())
    timings: dict[str, float] = {}
    yield Stack(folder, moto_server.endpoint, timings)
    print("\nregion move phases (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    # No destroy: the emulator is wiped instead (a destroy is the other end-to-end test's job).
    moto_server.reset()


@pytest.fixture(scope="module")
def off_the_critical_path() -> None:
    """The suite lasts as long as test_region_move.py, whose chain waits ~320 s on the AWS
    provider's fixed RDS waiters and needs the CPU in between; the other chains have slack, so
    their worker (and the terraform and payinfra it starts) yields the CPU to it. A priority
    cannot be raised back without privileges: the worker stays lower for the rest of the run,
    which is only ever other tests' wait."""
    os.nice(10)
