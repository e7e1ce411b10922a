"""A switch of the writer rolled back and made again, on an environment born with a standby (the
steps and their checks: tests/e2e/region_moves.py). On an emulator of its own, beside the move
from one region to the other."""

import pytest

from tests.e2e.region_moves import move_through

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.slow]


def test_a_switch_rolls_back_and_switches_again_without_data_loss(mover):
    move_through(mover, ("1 standby", "2 switch", "2 rolled back", "2 switch again"))
