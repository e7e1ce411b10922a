"""`layout: region-roots` on the emulator with the real terraform: `local` applied as one root
(this payinfra's default), its state moved into a root per region plus `links/`, then planned
(nothing destroyed or replaced, no DATA LOSS), applied and planned again with nothing left to
change; with the primary's region dark, the other region's root plans alone and calls nothing
there (the emulator counts). The region roots' plan and apply from nothing, on the emulator,
were measured by hand (docs/region-roots.md); the order of roots is tested with the fake
terraform (tests/cli/test_region_roots_commands.py)."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
import yaml

from payinfra.emulator import CONTROL_PATH
from tests.e2e.test_stack_lifecycle import Stack

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.slow]

A, B = "eu-west-1", "us-east-1"  # local's primary (its home) and its other region
TOTAL = re.compile(r"^total\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$", re.MULTILINE)


def control(endpoint: str, action: str = "") -> dict:
    method = "POST" if action else "GET"
    url = f"{endpoint}{CONTROL_PATH}{'/' + action if action else ''}"
    with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=5) as answer:
        return dict(json.loads(answer.read()))


def set_layout(stack: Stack, layout: str) -> None:
    path = stack.folder / "environments" / "local.yaml"
    local = yaml.safe_load(path.read_text())
    local["emulator"] = {"endpoint": stack.endpoint}
    local["layout"] = layout
    path.write_text(yaml.safe_dump(local))


@pytest.fixture(scope="module")
def stack(tmp_path_factory, moto_server):
    from tests.conftest import ENVIRONMENTS

    moto_server.reset()
    folder = tmp_path_factory.mktemp("roots")
    (folder / "environments").mkdir()
    for path in ENVIRONMENTS.glob("*.yaml"):
        (folder / "environments" / path.name).write_text(path.read_text())
    timings: dict[str, float] = {}
    yield Stack(folder, moto_server.endpoint, timings)
    print("\nregion roots phases (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    # No destroy: the emulator is wiped instead (tests/e2e/test_stack_lifecycle.py destroys).
    moto_server.reset()


def test_an_applied_stack_moves_into_a_root_per_region_and_plans_one_with_another_dark(stack):
    set_layout(stack, "one-root")
    stack.run("plan (one root)", "plan", "local", "--", "-parallelism=20")
    stack.run("apply (one root)", "apply", "local", "--", "-parallelism=20")
    before = json.loads(stack.run("output (one root)", "output", "local", "--json").stdout)

    set_layout(stack, "region-roots")
    refused = stack.run("plan before the move", "plan", "local", ok=(3,))
    assert "payinfra move-state local" in refused.stderr
    moved = stack.run("move-state", "move-state", "local")
    assert "moved local's state into 3 roots" in moved.stdout

    planned = stack.run("plan", "plan", "local", "--", "-parallelism=20")
    totals = [dict(zip(("create", "update", "replace", "destroy"), map(int, row), strict=True))
              for row in TOTAL.findall(planned.stdout)]  # fmt: skip
    # links/ waits: a moved state holds what it reads only once its region root is applied.
    assert len(totals) == 2, planned.stdout[-4000:]
    assert "links/ reads what the region roots hold and waits" in planned.stdout
    assert all(t["destroy"] == 0 and t["replace"] == 0 for t in totals), planned.stdout[-6000:]
    assert "DATA LOSS" not in planned.stdout + planned.stderr
    print(f"\nthe move's first plan, per region root: {totals}")
    applied = stack.run("apply", "apply", "local", "--", "-parallelism=20")
    # ...and is then planned and applied only because it creates or updates in place.
    assert "links/ was planned again after the region roots it reads and applied" in (
        applied.stdout
    )
    stack.run("re-plan", "plan", "local", "--detailed-exitcode")  # 0: nothing left to change

    after = json.loads(stack.run("output", "output", "local", "--json").stdout)
    assert after == before, "links/ outputs what the one root did"

    control(stack.endpoint, f"{A}/dark")
    try:
        whole = stack.run("plan (A dark)", "plan", "local", ok=(1,))
        assert "regions/eu-west-1/ starts a provider for it" in whole.stderr, whole.stderr
        control(stack.endpoint, "reset")
        alone = stack.run("plan --region B (A dark)", "plan", "local", "--region", B,
                          "--detailed-exitcode")  # fmt: skip
        assert "== regions/us-east-1/" in alone.stdout
        calls = control(stack.endpoint)["calls"]
        assert calls.get(A, 0) == 0, f"B's root called the dark region: {calls}"
        assert calls.get(B, 0) > 0
    finally:
        control(stack.endpoint, f"{A}/light")
