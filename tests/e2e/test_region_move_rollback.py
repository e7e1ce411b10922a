"""An environment born with a standby switches its writer, rolls the switch back, switches
again and leaves the first region (the steps and their checks: tests/e2e/region_moves.py). On an
emulator of its own, beside test_region_move.py: the two share the waiters' minutes."""

import pytest

from tests.e2e.region_moves import move_through

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.slow]


def test_a_switch_rolls_back_switches_again_and_the_old_region_leaves_without_data_loss(mover):
    phases = ("1 standby", "2 switch", "2 rolled back", "2 switch again", "3 drain", "B only")
    move_through(mover, phases)
