"""A region move on the emulator from "eu-west-1 only" to "us-east-1 only", each step an ordinary
plan and apply (the steps and their checks: tests/e2e/region_moves.py)."""

import pytest

from tests.e2e.region_moves import move_through

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.slow]


def test_the_workload_moves_region_by_region_without_data_loss(mover):
    move_through(mover, ("A only", "1 standby", "2 switch", "3 drain", "B only"))
