"""The wait for the charge point ends by ``answer_by``, so TIMEOUT is delivered within the announced timeout."""

from ocpi_commands.config import Settings
from ocpi_commands.domain.lifecycle import wait_seconds


def test_the_wait_is_rounded_down_so_it_never_outlasts_answer_by():
    answer_by = 1_000_000.9
    assert wait_seconds(answer_by, now=answer_by - 3) == 3
    assert wait_seconds(answer_by, now=answer_by - 2.5) == 2


def test_the_wait_is_at_least_one_second_even_when_late():
    assert wait_seconds(100, now=500.0) == 1


def test_the_charge_point_is_awaited_for_the_timeout_less_the_delivery_margin():
    settings = Settings(table_name="t")
    assert settings.delivery_margin_seconds == 5
    assert settings.charge_point_wait(60) == 55
    # The margin is at most half the timeout: short timeouts still wait for the charge point.
    assert settings.charge_point_wait(6) == 3
    assert settings.charge_point_wait(3) == 2
    assert Settings(table_name="t", delivery_margin_seconds=0).charge_point_wait(60) == 60
