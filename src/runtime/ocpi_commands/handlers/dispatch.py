"""State machine task (``lambda:invoke.waitForTaskToken``): dispatch the command to the charge point backend.

The execution then waits until the charge point's answer sends the token back, or until the
announced timeout ends. A failure to reach DynamoDB or the bus is ``DispatchRetryable``: the state
machine retries the task (see the ASL).
"""

from typing import Any

from ocpi_commands import composition
from ocpi_commands.domain.ports import PublishFailed
from ocpi_commands.observability import logger, metric, start_invocation
from ocpi_commands.tracing import is_dependency_error, traced


class DispatchRetryable(Exception):
    """Dispatching failed on a dependency; the state machine retries this task."""


@traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start_invocation(context)
    try:
        outcome = composition.lifecycle().dispatch(event["command_id"], event["task_token"], event.get("execution_arn"))
    except Exception as exc:
        if isinstance(exc, PublishFailed) or is_dependency_error(exc):
            logger.exception("Dispatch failed; the state machine retries")
            metric("DispatchFailures")
            raise DispatchRetryable(str(exc)) from exc
        raise
    return {"dispatched": outcome.dispatched}
