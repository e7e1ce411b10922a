"""The move of an applied stack into a root per region on the emulator, and a plan of one
region's root with the other region dark (docs/region-roots.md). Run at the end of the
adoption test, as a team that adopted the reference stack moves on."""

from __future__ import annotations

import json
import re

import yaml

from tests.e2e.test_stack_lifecycle import Stack
from tests.toolchain import emulator_control

TOTAL_ROW = re.compile(r"^total\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$", re.MULTILINE)


def move_into_a_root_per_region(stack: Stack, env: str, dark: str, alone: str) -> None:
    """`env`, applied as one root, moved into `layout: region-roots`: planned (nothing
    destroyed or replaced, no DATA LOSS), applied and planned again with nothing to change, the
    same outputs; with `dark` dark, `alone`'s root plans by itself and calls nothing there."""
    before = json.loads(stack.run("output (one root)", "output", env, "--json").stdout)
    set_layout(stack, env, "region-roots")
    refused = stack.run("plan before the move", "plan", env, ok=(3,))
    assert f"payinfra move-state {env}" in refused.stderr
    moved = stack.run("move-state", "move-state", env)
    assert f"moved {env}'s state into 3 roots" in moved.stdout
    planned = stack.run("plan (region roots)", "plan", env, "--", "-parallelism=20")
    totals = [dict(zip(("create", "update", "replace", "destroy"), map(int, row), strict=True))
              for row in TOTAL_ROW.findall(planned.stdout)]  # fmt: skip
    # links/ waits: a moved state holds what it reads only once its region root is applied.
    assert len(totals) == 2, planned.stdout[-4000:]
    assert "links/ reads what the region roots hold and waits" in planned.stdout
    assert all(t["destroy"] == 0 and t["replace"] == 0 for t in totals), planned.stdout[-6000:]
    assert "DATA LOSS" not in planned.stdout + planned.stderr
    print(f"\nthe move's first plan, per region root: {totals}")
    applied = stack.run("apply (region roots)", "apply", env, "--auto-approve", "--",
                        "-parallelism=20")  # fmt: skip
    # ...and is then planned and applied only because it creates or updates in place.
    assert "links/ was planned again after the region roots it reads and applied" in (
        applied.stdout
    )
    stack.run("re-plan (region roots)", "plan", env, "--detailed-exitcode")
    after = json.loads(stack.run("output (region roots)", "output", env, "--json").stdout)
    assert after == before, "links/ outputs what the one root did"

    emulator_control(stack.endpoint, f"{dark}/dark")
    try:
        whole = stack.run(f"plan ({dark} dark)", "plan", env, ok=(1,))
        assert f"regions/{dark}/ starts a provider for it" in whole.stderr, whole.stderr
        emulator_control(stack.endpoint, "reset")
        single = stack.run(f"plan --region {alone} ({dark} dark)", "plan", env,
                           "--region", alone, "--detailed-exitcode")  # fmt: skip
        assert f"== regions/{alone}/" in single.stdout
        calls = emulator_control(stack.endpoint)["calls"]
        assert calls.get(dark, 0) == 0, f"{alone}'s root called the dark region: {calls}"
        assert calls.get(alone, 0) > 0
    finally:
        emulator_control(stack.endpoint, f"{dark}/light")


def set_layout(stack: Stack, env: str, layout: str) -> None:
    path = stack.folder / "environments" / f"{env}.yaml"
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    settings["layout"] = layout
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
