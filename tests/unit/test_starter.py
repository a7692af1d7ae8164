"""The starter's wait never ends before the announced deadline."""

import math

from ocpi_commands.domain.lifecycle import wait_seconds


def test_wait_is_rounded_up_to_whole_seconds():
    deadline = 1_000_000.4
    assert wait_seconds(math.ceil(deadline), now=1_000_000.4 - 3) >= 3
    assert wait_seconds(math.ceil(deadline), now=1_000_000.0 - 3) == 4


def test_wait_is_at_least_one_second_even_when_late():
    assert wait_seconds(100, now=500.0) == 1
