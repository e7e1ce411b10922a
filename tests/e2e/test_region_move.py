"""The region move on the emulator, step by step: from "eu-west-1 only" to "us-east-1 only", with a
rollback of the switch on the way, each step an ordinary plan and apply (the steps and their
checks: tests/e2e/region_moves.py). One run, not two side by side: the two would repeat the
database waiters' minutes before the switch and slow each other down (measured: 555 s each,
against 554 s for the one)."""

import pytest

from tests.e2e.region_moves import STEPS, move_through

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.slow]


def test_the_workload_moves_region_by_region_without_data_loss(mover):
    move_through(mover, tuple(STEPS))
