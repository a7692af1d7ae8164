"""make run's overload warning: what makes it speak, from the table's stream records (no timing)."""

import time
from types import SimpleNamespace

from ocpi_commands_dev.emulation.server import Overload


def _local(stream=(0, 0.0), queued=(0, 0.0)):
    return SimpleNamespace(stream=SimpleNamespace(lag=lambda: stream), runtime=SimpleNamespace(queued=lambda: queued))


def _record(command_id, status="PENDING", accepted="2026-12-01T10:00:00.000Z", dispatched=None, deadline=None):
    image = {
        "type": {"S": "COMMAND"},
        "command_id": {"S": command_id},
        "status": {"S": status},
        "accepted_at": {"S": accepted},
        "deadline_epoch": {"N": str(deadline if deadline is not None else time.time() + 3600)},
    }
    if dispatched:
        image["dispatched_at"] = {"S": dispatched}
    return {"eventName": "MODIFY", "dynamodb": {"NewImage": image}}


def test_a_runtime_keeping_up_says_nothing():
    overload = Overload(None, _local(), "capacity.")
    overload.on_record(_record("c1"))
    overload.on_record(_record("c1", dispatched="2026-12-01T10:00:00.150Z"))
    assert overload.check() is None


def test_commands_reaching_the_charge_point_late_are_a_warning_even_with_no_queue():
    overload = Overload(None, _local(), "Measured here at N/s;")
    overload.EVERY = 3600.0  # the window of recent dispatches: however slow the machine running the test
    for index, dispatched in enumerate(("2026-12-01T10:00:00.200Z", "2026-12-01T10:00:02.700Z")):
        overload.on_record(_record(f"c{index}"))
        overload.on_record(_record(f"c{index}", dispatched=dispatched))
    warning = overload.check()
    assert warning is not None
    assert "1 of the last 2 commands reached the charge point more than 1 s after" in warning
    assert "(up to 2.7 s)" in warning and warning.endswith("Measured here at N/s; AWS scales beyond it.")


def test_a_dispatch_is_counted_once_and_resolved_commands_are_forgotten():
    overload = Overload(None, _local(), "capacity.")
    overload.on_record(_record("c1"))
    overload.on_record(_record("c1", dispatched="2026-12-01T10:00:00.100Z"))
    overload.on_record(_record("c1", dispatched="2026-12-01T10:00:00.100Z"))  # a later update of the record
    overload.on_record(_record("c1", status="RESOLVED", dispatched="2026-12-01T10:00:00.100Z"))
    assert len(overload._dispatch_lags) == 1 and not overload._undispatched and not overload._deadlines


def test_queues_and_commands_past_their_timeout_are_warnings():
    overload = Overload(None, _local(stream=(40, 3.5), queued=(12, 2.5)), "capacity.")
    overload.on_record(_record("c1", deadline=time.time() - 60))
    warning = overload.check()
    assert warning is not None
    assert "40 stream records waiting (oldest 3.5 s)" in warning
    assert "12 invocations waiting for a function worker (oldest 2.5 s)" in warning
    assert "1 commands past their timeout without a result" in warning
