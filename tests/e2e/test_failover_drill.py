"""The failover drill on the Terraform-applied stack (docs/failover.md): A (eu-west-1) runs the
workload and B (us-east-1) stands by, both applied step by step from "A only"; A takes payments;
A goes dark; `payinfra failover` makes B the writer with not one call to A (the emulator counts
them); B takes new payments and answers replays of A's; A comes back with its old configuration
and refuses every new payment; the YAML then says what the failover did and is applied.

The rest of the drill, A rebuilt as B's standby and a planned switch back that loses nothing,
is test_region_move.py: it runs beside this one from the switched layout applied from
nothing, so the suite waits for one chain's database waiters, not for both. Each phase is timed
(printed at the end of the module)."""

from __future__ import annotations

import time

import pytest

from tests.e2e import payments
from tests.e2e.region_moves import (
    A,
    B,
    assert_nothing_to_change,
    check_switched_to,
    move_through,
    set_workload,
)
from tests.e2e.test_stack_lifecycle import Stack
from tests.toolchain import emulator_control

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.slow]


def test_a_dark_primary_fails_over_to_its_standby_and_is_fenced_when_it_returns(mover):
    move_through(mover, ("A only", "1 standby"))
    payments.copy_of_the_table(mover, A, B)
    payments.assert_taken(mover, A, "tx-before")
    assert payments.replicated(mover, B, "tx-before"), "B's copy holds what A took"

    emulator_control(mover.endpoint, f"{A}/dark")
    dark = time.monotonic()
    try:
        fail_over_with_no_call_to(mover, dark=A, to=B)
        payments.assert_taken(mover, B, "tx-during")
        # What the writer's outage cost, without the operator's reaction and DNS (docs).
        mover.timings["A dark -> B takes payments"] = time.monotonic() - dark
        payments.assert_replayed(mover, B, "tx-before")
    finally:
        emulator_control(mover.endpoint, f"{A}/light")

    # A is back with the configuration it had: its processor still names itself the writer,
    # but replication brought it the record the failover wrote.
    assert payments.replicated(mover, A, "#writer", lambda item: item["writerRegion"]["S"] == B), (
        "the failover's writer record reaches A"
    )
    payments.assert_refused(mover, A, "tx-returned")
    assert payments.health(mover, A) == 503, "Route 53 keeps clients off the fenced region"
    assert payments.replicated(mover, A, "tx-during"), "held while A was dark, then delivered"
    payments.assert_replayed(mover, A, "tx-during")

    after_the_failover(mover)


def fail_over_with_no_call_to(stack: Stack, *, dark: str, to: str) -> None:
    emulator_control(stack.endpoint, "reset")
    done = stack.run("failover", "failover", "local", "--to", to, "--auto-approve")
    calls = emulator_control(stack.endpoint)["calls"]
    assert calls.get(dark, 0) == 0, f"the failover called the dark region: {calls}"
    assert f"writer: {to}, epoch 1" in done.stdout, done.stdout
    assert "promotion of payment-local-db started" in done.stdout, done.stdout
    (promoted,) = stack.client("rds", to).describe_db_instances()["DBInstances"]
    assert not promoted.get("ReadReplicaSourceDBInstanceIdentifier"), "B's database writes"


def after_the_failover(stack: Stack) -> None:
    """The YAML says what the failover did: planned with no DATA LOSS (the writer record
    rewritten in Terraform's form, B's promoted database kept), applied, then nothing left."""
    set_workload(stack, {B: "primary", A: "former"})
    planned = stack.run("plan after the failover", "plan", "local")
    assert "workload: step 2 (switched" in planned.stdout, planned.stdout[-3000:]
    assert "DATA LOSS" not in planned.stdout + planned.stderr, planned.stdout[-4000:]
    assert "CANNOT BE APPLIED" not in planned.stdout + planned.stderr, planned.stdout[-4000:]
    stack.run("apply after the failover", "apply", "local", "--", "-parallelism=20")
    check_switched_to(B, A)(stack)
    record = payments.stored(stack, A, "#writer")
    assert record["writerRegion"]["S"] == B and "epoch" not in record, "Terraform's form again"
    assert_nothing_to_change(stack)
    payments.assert_taken(stack, B, "tx-after")
    payments.assert_refused(stack, A, "tx-after-in-a")
    for taken in ("tx-before", "tx-during", "tx-after"):
        assert payments.replicated(stack, A, taken) and payments.stored(stack, B, taken), taken
