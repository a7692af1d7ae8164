"""State machine task: the wait for the charge point ended without an answer.

``States.Timeout`` resolves the command as TIMEOUT; any other error (the dispatch failed after its
retries) as FAILED. If the charge point's answer was recorded first, nothing changes: that answer
is the one (and only) CommandResult.
"""

from typing import Any

from ocpi_commands.handlers.runtime import DependencyUnavailable, is_dependency_error, lifecycle
from ocpi_commands.handlers.tracing import traced
from ocpi_commands.observability import bind, logger, start_invocation


@traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start_invocation(context)
    command_id = event["command_id"]
    error = (event.get("error") or {}).get("Error")
    cause = (event.get("error") or {}).get("Cause")
    bind(command_id=command_id)
    try:
        outcome = lifecycle().resolve_without_answer(command_id, error, cause)
    except Exception as exc:
        if is_dependency_error(exc):
            logger.exception("Resolution failed; the state machine retries")
            raise DependencyUnavailable(str(exc)) from exc
        raise
    command = outcome.command
    return {
        "command_id": command_id,
        "resolved_here": outcome.won,
        "result": command.result.value if command and command.result else None,
        "delivery": outcome.delivery.value if outcome.delivery else None,
    }
