"""A region move on the emulator from "eu-west-1 only" to the writer switched to us-east-1, each
step an ordinary plan and apply (the steps and their checks: tests/e2e/region_moves.py; the
rest of the move, after a rollback, in test_region_move_rollback.py)."""

import pytest

from tests.e2e.region_moves import move_through

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.slow]


def test_a_running_region_gains_a_standby_and_switches_the_writer_without_data_loss(mover):
    move_through(mover, ("A only", "1 standby", "2 switch"))
