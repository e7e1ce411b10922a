"""The region move from the switch on: roll the switch back, switch again, drain the former
primary, us-east-1 only, then nothing left to change. It starts from the switched layout applied
from nothing (both databases standalone, as after a promotion), so it runs beside
test_region_move.py instead of after its database waiters (measured: one chain of every step took
526 s; the two side by side end when the longer one does)."""

import pytest

from tests.e2e.region_moves import ONWARDS_FROM_THE_SWITCH, move_through

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.slow]


def test_the_switch_rolls_back_and_the_former_primary_drains(mover):
    move_through(mover, ONWARDS_FROM_THE_SWITCH, replan=True)
