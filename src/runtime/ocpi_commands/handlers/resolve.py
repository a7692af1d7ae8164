"""State machine task: the wait for the charge point ended without an answer.

``States.Timeout`` resolves the command as TIMEOUT; any other error (the dispatch failed after its
retries) as FAILED. If the charge point's answer was recorded first, nothing changes: that answer
is the one (and only) CommandResult. A dependency failure is ``DependencyUnavailable``, retried by
the state machine.
"""

from typing import Any

from ocpi_commands import composition
from ocpi_commands.observability import bind, logger, start_invocation
from ocpi_commands.tracing import is_dependency_error, traced


class DependencyUnavailable(Exception):
    """An AWS dependency failed; Step Functions retries the task (see the ASL Retry)."""


@traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start_invocation(context)
    command_id = event["command_id"]
    error = (event.get("error") or {}).get("Error")
    cause = (event.get("error") or {}).get("Cause")
    bind(command_id=command_id)
    try:
        outcome = composition.lifecycle().resolve_without_answer(command_id, error, cause)
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
