"""Shared fixture: a checkout whose YAML a region move rewrites step by step."""

from __future__ import annotations

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
