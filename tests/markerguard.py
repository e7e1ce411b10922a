"""A marker per outside dependency, and a guard that keeps the markers honest.

`make test-fast` runs what needs none of terraform, a moto server, a scanner (checkov, trivy)
or minutes of time, by deselecting these markers. So that a test cannot end up in the fast tier
while starting one of them, every process a test starts (in its setup too, shared fixtures
included) is checked: starting the real terraform, a moto server, checkov or trivy without the
matching marker fails the test. `slow` is a promise about time, which no process reveals; the
durations report keeps it honest. Shared fixtures that hold such a dependency (the session's
moto server) need the marker too, checked at collection. Loaded by tests/conftest.py;
tests/tools/test_marker_guard.py proves it can fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

import pytest

MARKERS = {
    "terraform": "runs the real terraform binary (and the AWS provider)",
    "emulator": "starts a moto server process (payinfra's emulator)",
    "checkov": "runs checkov on rendered roots",
    "trivy": "runs trivy on rendered roots",
    "slow": "takes more than about 10 s (an apply on the emulator, a kill at every instant)",
}
FAST_TIER = " and ".join(f"not {name}" for name in MARKERS)
# Shared fixtures that hold a dependency: only the first test to use one starts its process,
# so using the fixture at all needs the marker (checked at collection, whatever the order).
FIXTURES = {
    "moto_server": "emulator",
    "other_account_emulator": "emulator",
    "checkov_results": "checkov",
}

_running: list[pytest.Item] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fast",
        action="store_true",
        help=f"run only the fast tier: -m '{FAST_TIER}' (make test-fast)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--fast", default=False):
        config.option.markexpr = FAST_TIER
    for name, meaning in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {meaning}")
    _guard_process_starts(_real_terraform())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    unmarked = sorted(
        f"{item.nodeid} uses fixture {fixture} without @pytest.mark.{needed}"
        for item in items
        for fixture, needed in FIXTURES.items()
        if fixture in getattr(item, "fixturenames", ()) and needed not in _markers(item)
    )
    if unmarked:
        raise pytest.UsageError("unmarked dependencies:\n" + "\n".join(unmarked))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator:
    _running.append(item)
    try:
        yield
    finally:
        _running.pop()


def dependency_of(argv: Sequence[str], real_terraform: str | None) -> str | None:
    """Which outside dependency a command line starts, if any."""
    if not argv:
        return None
    program = str(argv[0])
    if real_terraform and _resolved(program) == real_terraform:
        return "terraform"
    if Path(program).name in ("checkov", "trivy"):
        return Path(program).name
    if any(str(part) in ("payinfra.emulator_server", "moto.server") for part in argv) or (
        Path(program).name == "moto_server"
    ):
        return "emulator"
    return None


def _guard_process_starts(real_terraform: str | None) -> None:
    original = subprocess.Popen.__init__

    def checked(self: subprocess.Popen, args: Any, *rest: Any, **options: Any) -> None:
        argv = [args] if isinstance(args, str | os.PathLike) else list(args)
        needed = dependency_of([str(part) for part in argv], real_terraform)
        if needed and _running and needed not in _markers(_running[-1]):
            pytest.fail(
                f"{_running[-1].nodeid} starts {needed} without @pytest.mark.{needed}: mark it, "
                "so that `make test-fast` leaves it out",
                pytrace=False,
            )
        original(self, args, *rest, **options)

    subprocess.Popen.__init__ = checked  # type: ignore[method-assign]


def _markers(item: pytest.Item) -> set[str]:
    return {marker.name for marker in item.iter_markers()}


def _real_terraform() -> str | None:
    found = shutil.which(os.environ.get("PAYINFRA_TERRAFORM") or "terraform")
    return _resolved(found) if found else None


def _resolved(program: str) -> str:
    found = shutil.which(program) or program
    return os.path.realpath(found)
