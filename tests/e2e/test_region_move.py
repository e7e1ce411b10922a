"""The region move on the emulator, from "eu-west-1 only" to the switch to us-east-1, each step an
ordinary plan and apply (the steps and their checks: tests/e2e/region_moves.py). The rest of the
move (roll back, switch again, drain, us-east-1 only) is test_region_move_onwards.py: the two run
side by side, so the suite waits for the database waiters of one chain, not of both."""

import pytest

from tests.e2e.region_moves import TO_THE_SWITCH, move_through

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.slow]


def test_the_standby_is_added_and_takes_over(mover):
    move_through(mover, TO_THE_SWITCH)
