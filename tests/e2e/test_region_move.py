"""The region move from the switch on, which is also the failover drill's way back: the former
primary A drains, is retired, comes back as B's standby beside the database it kept (a second
generation), and takes the workload back in a planned switch that loses no payment; then
nothing is left to change. It starts from the switched layout applied from nothing (both
databases standalone, as after a promotion or a failover), so it runs beside the drill's first
half (test_failover_drill.py) instead of after its database waiters."""

import pytest

from tests.e2e import payments
from tests.e2e.region_moves import FROM_THE_SWITCH, A, B, move_through
from tests.e2e.test_stack_lifecycle import Stack

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.slow]


def b_takes_payments(stack: Stack) -> None:
    payments.copy_of_the_table(stack, A, B)  # the home table stays in A (docs/region-moves.md)
    payments.assert_taken(stack, B, "tx-in-b")


def a_serves_as_a_standby(stack: Stack) -> None:
    payments.assert_refused(stack, A, "tx-refused-in-a")
    payments.assert_replayed(stack, A, "tx-in-b")


def a_writes_again_and_lost_nothing(stack: Stack) -> None:
    payments.assert_replayed(stack, A, "tx-in-b")
    payments.assert_taken(stack, A, "tx-back-in-a")
    assert payments.replicated(stack, B, "tx-back-in-a")
    payments.assert_refused(stack, B, "tx-refused-in-b")


def test_the_former_primary_is_rebuilt_as_a_standby_and_takes_the_workload_back(mover):
    move_through(
        mover,
        FROM_THE_SWITCH,
        replan=True,
        then={
            "2 switch": b_takes_payments,
            "A standby again": a_serves_as_a_standby,
            "A primary again": a_writes_again_and_lost_nothing,
        },
    )
