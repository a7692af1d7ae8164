"""EventBridge Scheduler, locally: the template's ``AWS::Scheduler::Schedule`` resources that invoke a function.

A schedule whose ``Condition`` holds and whose ``State`` is ENABLED invokes its target function with its
``Input``, asynchronously as the Scheduler does, at its ``rate(...)`` expression (``start``; `make run`
starts them). ``fire`` runs one at once and returns what the function returned (tests, the bench).
``cron()`` and ``at()`` expressions are not emulated: the template has none.
"""

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ocpi_commands_dev.emulation.template import condition_holds, resolve_intrinsics, resources_of_type

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass
class ScheduleSpec:
    logical_id: str
    function: str
    input: dict[str, Any]
    every_seconds: float | None  # None: not a rate expression
    enabled: bool


def schedules(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, ScheduleSpec]:
    found = {}
    for logical_id, res in resources_of_type(template, "AWS::Scheduler::Schedule").items():
        props = res["Properties"]
        condition = res.get("Condition")
        expression = str(resolve_intrinsics(props["ScheduleExpression"], parameters))
        rate = _RATE.match(expression)
        found[logical_id] = ScheduleSpec(
            logical_id=logical_id,
            function=props["Target"]["Arn"]["Fn::GetAtt"][0],
            input=json.loads(props["Target"].get("Input") or "{}"),
            every_seconds=int(rate.group(1)) * _SECONDS[rate.group(2).rstrip("s")] if rate else None,
            enabled=(condition is None or condition_holds(template, condition, parameters))
            and resolve_intrinsics(props.get("State", "ENABLED"), parameters) == "ENABLED",
        )
    return found


class Schedules:
    def __init__(
        self,
        specs: dict[str, ScheduleSpec],
        invoke: Callable[[str, dict[str, Any]], Any],
        invoke_async: Callable[[str, dict[str, Any]], None],
    ):
        self.specs = specs
        self.invoke = invoke
        self.invoke_async = invoke_async
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def fire(self, logical_id: str) -> Any:
        """Run one schedule's invocation now (synchronously); it must be enabled by the parameters."""
        spec = self.specs[logical_id]
        if not spec.enabled:
            raise RuntimeError(f"{logical_id} is not enabled with these parameters")
        return self.invoke(spec.function, dict(spec.input))

    def start(self) -> None:
        due = {
            s.logical_id: time.monotonic() + s.every_seconds
            for s in self.specs.values()
            if s.enabled and s.every_seconds
        }
        if not due:
            return

        def run() -> None:
            while not self._stop.is_set():
                now = time.monotonic()
                for logical_id, at in due.items():
                    if at <= now:
                        spec = self.specs[logical_id]
                        self.invoke_async(spec.function, dict(spec.input))
                        due[logical_id] = now + (spec.every_seconds or 60)
                self._stop.wait(max(0.05, min(due.values()) - time.monotonic()))

        self._thread = threading.Thread(target=run, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
