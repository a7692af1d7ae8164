"""Simulated charge points (dev and test stacks): answer "Command Dispatched" as a CSMS would.

The behaviour per EVSE and the answers are in ``ocpi_commands.simulator``.
"""

import time
from typing import Any

from ocpi_commands import composition
from ocpi_commands.adapters.eventbridge import EventBridgePublisher
from ocpi_commands.observability import bind, logger, start_invocation
from ocpi_commands.simulator import SIMULATOR_SOURCE, answer, behaviour_for
from ocpi_commands.tracing import traced


@traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start_invocation(context)
    detail: dict[str, Any] = event["detail"] if isinstance(event.get("detail"), dict) else {}
    party = detail.get("party") or {}
    bind(
        command_id=detail.get("command_id"),
        command_type=detail.get("command_type"),
        party=f"{party.get('country_code')}*{party.get('party_id')}" if party else None,
        correlation_id=detail.get("correlation_id"),
    )
    behaviour = behaviour_for(composition.repository(), detail)
    logger.info(
        "Simulated charge point received a command",
        extra={"mode": behaviour.mode, "delay_seconds": behaviour.delay_seconds},
    )
    if behaviour.delay_seconds:
        time.sleep(behaviour.delay_seconds)
    events = answer(detail, behaviour)
    if events:
        EventBridgePublisher(composition.settings().event_bus_name, SIMULATOR_SOURCE).publish_many(events)
    return {"mode": behaviour.mode, "events": [t for t, _ in events]}
